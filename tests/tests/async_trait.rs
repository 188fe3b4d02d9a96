//! `#[retry]` on the methods of `#[async_trait]` impls: the shape repository
//! traits behind `Arc<dyn Repo>` take.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Duration;

use async_trait::async_trait;
use retry_runtime::retry;
use tokio::time::Instant;

#[derive(Debug, PartialEq, Eq)]
enum RepoError {
    Locked,
    Missing,
}

#[async_trait]
trait UserRepo: Send + Sync {
    async fn load(&self, id: u64) -> Result<u64, RepoError>;
    async fn rename(&mut self, id: u64, name: String) -> Result<String, RepoError>;
}

/// Locked for its first `locked_for` attempts of each call.
struct Flaky {
    locked_for: u32,
    attempts: AtomicU32,
    names: Vec<String>,
}

impl Flaky {
    fn new(locked_for: u32) -> Self {
        Flaky { locked_for, attempts: AtomicU32::new(0), names: Vec::new() }
    }

    fn attempt(&self) -> Result<(), RepoError> {
        let made = self.attempts.fetch_add(1, Relaxed) + 1;
        if made <= self.locked_for { Err(RepoError::Locked) } else { Ok(()) }
    }
}

fn is_locked(error: &RepoError) -> bool {
    *error == RepoError::Locked
}

#[async_trait]
impl UserRepo for Flaky {
    #[retry(max = 4, base = "100ms", jitter = "none", on = is_locked)]
    async fn load(&self, id: u64) -> Result<u64, RepoError> {
        self.attempt()?;
        if id == 0 { Err(RepoError::Missing) } else { Ok(id * 10) }
    }

    #[retry(max = 3, base = "100ms", jitter = "none", clone(name))]
    async fn rename(&mut self, id: u64, name: String) -> Result<String, RepoError> {
        self.attempt()?;
        self.names.push(name);
        Ok(format!("{id}:{}", self.names.len()))
    }
}

#[tokio::test(start_paused = true)]
async fn a_shared_method_behind_a_trait_object_is_retried() {
    let repo: Arc<dyn UserRepo> = Arc::new(Flaky::new(2));
    let started = Instant::now();
    assert_eq!(repo.load(7).await, Ok(70));
    // Two failures: sleeps of 100 ms and 200 ms, in paused time.
    assert_eq!(started.elapsed(), Duration::from_millis(300));
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_behind_a_trait_object_is_not_retried() {
    let flaky = Arc::new(Flaky::new(0));
    let repo: Arc<dyn UserRepo> = flaky.clone();
    assert_eq!(repo.load(0).await, Err(RepoError::Missing));
    assert_eq!(flaky.attempts.load(Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn a_mut_method_is_reborrowed_by_each_attempt() {
    let mut repo: Box<dyn UserRepo> = Box::new(Flaky::new(1));
    assert_eq!(repo.rename(3, "ada".to_owned()).await, Ok("3:1".to_owned()));
    assert_eq!(repo.rename(3, "grace".to_owned()).await, Ok("3:2".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn the_boxed_future_stays_send_and_spawns() {
    let flaky = Arc::new(Flaky::new(3));
    let repo: Arc<dyn UserRepo> = flaky.clone();
    let answer = tokio::spawn(async move { repo.load(1).await }).await;
    assert!(matches!(answer, Ok(Ok(10))));
    assert_eq!(flaky.attempts.load(Relaxed), 4);
}

/// `?Send`: the boxed future is not `Send`, so the repository may hold an `Rc`.
#[async_trait(?Send)]
trait LocalRepo {
    async fn load(&self) -> Result<u32, RepoError>;
    async fn bump(&mut self) -> Result<u32, RepoError>;
}

struct LocalFlaky {
    failures_left: std::rc::Rc<std::cell::Cell<u32>>,
    bumps: u32,
}

#[async_trait(?Send)]
impl LocalRepo for LocalFlaky {
    #[retry(max = 5, base = "10ms", jitter = "none")]
    async fn load(&self) -> Result<u32, RepoError> {
        let left = self.failures_left.get();
        if left > 0 {
            self.failures_left.set(left - 1);
            return Err(RepoError::Locked);
        }
        Ok(5)
    }

    #[retry(max = 5, base = "10ms", jitter = "none")]
    async fn bump(&mut self) -> Result<u32, RepoError> {
        self.bumps += 1;
        if self.bumps < 3 { Err(RepoError::Locked) } else { Ok(self.bumps) }
    }
}

#[tokio::test(start_paused = true)]
async fn a_not_send_trait_is_retried_too() {
    let failures_left = std::rc::Rc::new(std::cell::Cell::new(3));
    let mut repo: Box<dyn LocalRepo> = Box::new(LocalFlaky { failures_left: failures_left.clone(), bumps: 0 });
    let started = Instant::now();
    assert_eq!(repo.load().await, Ok(5));
    assert_eq!(started.elapsed(), Duration::from_millis(10 + 20 + 40));
    assert_eq!(failures_left.get(), 0);
    assert_eq!(repo.bump().await, Ok(3));
}

/// A default method of an `#[async_trait]` trait is rewritten the same way.
#[async_trait]
trait Pinger: Sync {
    fn attempts(&self) -> &AtomicU32;

    #[retry(max = 3, base = "1s", jitter = "none")]
    async fn ping(&self) -> Result<u32, RepoError> {
        let made = self.attempts().fetch_add(1, Relaxed) + 1;
        if made < 3 { Err(RepoError::Locked) } else { Ok(made) }
    }
}

struct Host(AtomicU32);

impl Pinger for Host {
    fn attempts(&self) -> &AtomicU32 {
        &self.0
    }
}

#[tokio::test(start_paused = true)]
async fn a_default_method_of_an_async_trait_is_retried() {
    let host = Host(AtomicU32::new(0));
    let started = Instant::now();
    assert_eq!(host.ping().await, Ok(3));
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn statistics_name_the_method_not_its_boxed_block() {
    let repo: Arc<dyn UserRepo> = Arc::new(Flaky::new(1));
    assert_eq!(repo.load(2).await, Ok(20));
    let snapshot = retry_runtime::stats::snapshot();
    let names: Vec<&str> = snapshot.functions.iter().map(|f| f.name.as_str()).collect();
    assert!(names.contains(&"<async_trait::Flaky as async_trait::UserRepo>::load"), "{names:?}");
}

/// The shape older `async-trait` versions emitted, written by hand: the
/// arguments bound before `Box::pin(async move { … })`.
struct OldShape {
    attempts: AtomicU32,
}

impl OldShape {
    #[retry(max = 3, base = "10ms", jitter = "none")]
    #[allow(clippy::type_complexity, reason = "the boxed future async-trait returns")]
    fn load<'a>(&'a self, id: u64) -> std::pin::Pin<Box<dyn Future<Output = Result<u64, RepoError>> + Send + 'a>> {
        let this = self;
        Box::pin(async move {
            let made = this.attempts.fetch_add(1, Relaxed) + 1;
            if made < 3 { Err(RepoError::Locked) } else { Ok(id + u64::from(made)) }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn the_older_async_trait_shape_is_retried_too() {
    let repo = OldShape { attempts: AtomicU32::new(0) };
    let started = Instant::now();
    assert_eq!(repo.load(10).await, Ok(13));
    assert_eq!(started.elapsed(), Duration::from_millis(30));
}
