//! Reference solution of exercise 13: thousands of connections served by tasks on one thread.
//!
//! Every connection is a task of a [`JoinSet`], started only once it holds a permit of a
//! [`Semaphore`], so at most `max_in_flight` exist at a time and dropping the set cancels them
//! all. Waits (`receive`, the backoff) are `.await`s that hand the thread to another task; the
//! CPU-heavy `digest` runs on tokio's blocking pool, so the event loop keeps turning while it
//! computes. Each connection's deadline wraps that connection alone.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// What a connection does. The hidden tests and the demo implement it.
pub trait Service: Send + Sync + 'static {
    /// Waits for connection `connection` to send its request. This is I/O: it awaits and never
    /// blocks its thread. `Err` is a transient failure worth retrying.
    fn receive(&self, connection: usize) -> impl Future<Output = Result<Vec<u8>, String>> + Send;

    /// The CPU-heavy step: computes the reply to a request. It keeps its thread busy until it
    /// returns, so it must not run on the thread that drives the tasks.
    fn digest(&self, request: &[u8]) -> u64;
}

/// How connections are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// At most this many connections are being served at once (at least 1).
    pub max_in_flight: usize,
    /// A connection not answered within this time after it started being served gets
    /// [`Reply::TimedOut`].
    pub deadline: Duration,
    /// How many times a failed `receive` is tried again.
    pub retries: u32,
    /// How long to wait before each retry.
    pub backoff: Duration,
}

/// What became of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The digest of its request.
    Digest(u64),
    /// `receive` failed `retries + 1` times; the last error.
    Failed(String),
    /// The deadline passed first.
    TimedOut,
}

// ANCHOR: serve_all
/// Serves connections `0..connections` and returns their replies in connection order.
pub async fn serve_all<S: Service>(
    service: Arc<S>,
    connections: usize,
    limits: Limits,
) -> Vec<Reply> {
    let permits = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
    // A std Mutex is the right lock here: it is held for one store and never across an
    // `.await`, so no task can be suspended while holding it.
    let replies = Arc::new(Mutex::new(vec![None; connections]));
    // Dropping a JoinSet aborts its tasks: if the caller drops this future, no connection
    // goes on being served behind its back.
    let mut tasks = JoinSet::new();
    for connection in 0..connections {
        // Waiting for a permit *before* spawning bounds the tasks too, not only the work.
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let service = Arc::clone(&service);
        let replies = Arc::clone(&replies);
        tasks.spawn(async move {
            // The deadline starts now that the connection is served, not when it was queued.
            let reply =
                tokio::time::timeout(limits.deadline, serve_one(service, connection, limits))
                    .await
                    .unwrap_or(Reply::TimedOut);
            replies.lock().unwrap()[connection] = Some(reply);
            drop(permit);
        });
    }
    while let Some(finished) = tasks.join_next().await {
        if let Err(error) = finished {
            // Only a panic gets here: nothing aborts these tasks while the set is alive.
            std::panic::resume_unwind(error.into_panic());
        }
    }
    let replies = std::mem::take(&mut *replies.lock().unwrap());
    replies
        .into_iter()
        .map(|reply| reply.expect("every task stored its reply before it finished"))
        .collect()
}
// ANCHOR_END: serve_all

// ANCHOR: serve_one
/// Receives one request, retrying after a backoff, and digests it off the event loop.
async fn serve_one<S: Service>(service: Arc<S>, connection: usize, limits: Limits) -> Reply {
    let mut retries_left = limits.retries;
    let request = loop {
        match service.receive(connection).await {
            Ok(request) => break request,
            Err(error) if retries_left == 0 => return Reply::Failed(error),
            Err(_) => {
                retries_left -= 1;
                // A timer, not `std::thread::sleep`: the thread serves others meanwhile.
                tokio::time::sleep(limits.backoff).await;
            }
        }
    };
    // The blocking pool runs the digest on another thread; this task waits for it like any
    // other I/O, and the event loop goes on polling the other connections.
    match tokio::task::spawn_blocking(move || service.digest(&request)).await {
        Ok(digest) => Reply::Digest(digest),
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}
// ANCHOR_END: serve_one
