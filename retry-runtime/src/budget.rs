//! The retry budget (being written).
