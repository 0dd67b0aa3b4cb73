//! Graceful shutdown (SIGTERM, or a test's [`Shutdown::begin`]). Once begun:
//!
//! - the server stops accepting; requests in flight finish, and each answer closes its
//!   connection so that a proxy's kept-alive connection does not bring new work;
//!   `/health/ready` answers 503;
//! - live streams end with a `retry:` hint (their clients reconnect elsewhere with
//!   `Last-Event-ID`);
//! - background jobs take no new work; what they hold is awaited, all of it within
//!   `SHUTDOWN_GRACE_SECS`;
//! - then every lease this process holds is given back, so another instance takes the
//!   work over at once instead of when the lease would have run out.

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::error::ApiError;

/// Whether this process is stopping, and the background work a stop waits for.
#[derive(Debug, Clone)]
pub struct Shutdown {
    begun: Arc<watch::Sender<bool>>,
    finished: Arc<watch::Sender<bool>>,
    work: TaskTracker,
    owner: LeaseOwner,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Shutdown {
            begun: Arc::new(watch::Sender::new(false)),
            finished: Arc::new(watch::Sender::new(false)),
            work: TaskTracker::new(),
            owner: LeaseOwner::new(),
        }
    }

    /// Begins the stop; `false` when it had begun already.
    pub fn begin(&self) -> bool {
        let first = !self.begun.send_replace(true);
        self.work.close();
        first
    }

    pub fn has_begun(&self) -> bool {
        *self.begun.borrow()
    }

    /// Resolves once the stop has begun.
    pub async fn begun(&self) {
        let mut begun = self.begun.subscribe();
        // The sender lives as long as `self`: the wait cannot fail.
        let _ = begun.wait_for(|begun| *begun).await;
    }

    /// Runs `work` on the current runtime as work a stop waits for.
    pub fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.work.spawn(work);
    }

    /// `work`, counted as work a stop waits for while it runs.
    pub fn track<F: Future>(&self, work: F) -> impl Future<Output = F::Output> {
        self.work.track_future(work)
    }

    /// Resolves when the stop has begun and no tracked work is left.
    pub async fn settled(&self) {
        self.work.wait().await;
    }

    /// Says the stop is complete: leases given back.
    pub fn finish(&self) {
        self.finished.send_replace(true);
    }

    /// Resolves when a begun stop is complete; at once when none began.
    pub async fn finished(&self) {
        if !self.has_begun() {
            return;
        }
        let mut finished = self.finished.subscribe();
        let _ = finished.wait_for(|finished| *finished).await;
    }

    pub fn owner(&self) -> &LeaseOwner {
        &self.owner
    }
}

/// This process's name on the leases it takes (webhook deliveries, alert sources), so
/// that it can give them all back when it stops: each lease token starts with it.
#[derive(Debug, Clone)]
pub struct LeaseOwner(Arc<str>);

impl LeaseOwner {
    fn new() -> Self {
        // Only a process that cannot read randomness at all fails here; its leases
        // then share a name with no other process's and simply run out.
        let name = crate::crypto::random_hex::<8>().unwrap_or_else(|_| "unnamed".to_owned());
        LeaseOwner(name.into())
    }

    /// A new lease token of this process.
    pub fn token(&self) -> Result<String, ApiError> {
        Ok(format!("{}:{}", self.0, crate::crypto::random_hex::<16>()?))
    }

    /// A `LIKE` pattern matching every token of this process (the name and the random
    /// part are hex digits: no wildcard among them).
    pub fn pattern(&self) -> String {
        format!("{}:%", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_waits_for_tracked_work_and_begins_once() {
        let shutdown = Shutdown::new();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        shutdown.spawn(async move {
            let _ = released.await;
        });
        assert!(shutdown.begin());
        assert!(!shutdown.begin(), "a second signal begins nothing new");
        use futures_util::FutureExt;
        assert!(
            shutdown.settled().now_or_never().is_none(),
            "the work is still running"
        );
        let _ = release.send(());
        shutdown.settled().await;
    }

    #[test]
    fn lease_tokens_carry_the_owner_name() {
        let owner = LeaseOwner::new();
        let token = owner.token().unwrap_or_default();
        let prefix = owner.pattern().trim_end_matches('%').to_owned();
        assert!(token.starts_with(&prefix), "{token} {prefix}");
        assert_ne!(token, owner.token().unwrap_or_default());
    }
}
