//! Classifiers: which errors are worth retrying.
