//! # Exercise 13: ten thousand connections on one thread
//!
//! A server spends most of its life waiting: for a request to arrive, for a retry's backoff to
//! pass. A thread per connection pays a stack and a kernel thread for each of those waits. An
//! async runtime pays a small task instead: at every `.await` that cannot go on yet, the task
//! hands its thread back to the runtime, which polls another one. One thread can so keep ten
//! thousand connections waiting at once, as Python's asyncio does.
//!
//! [`serve_all`] below gives correct replies, but one connection at a time. Make it a server.
//! Your tasks, marked `TODO`:
//!
//! 1. Serve connections concurrently as tokio tasks (`tokio::task::JoinSet`), at most
//!    `limits.max_in_flight` at once (`tokio::sync::Semaphore`), and return the replies in
//!    connection order.
//! 2. Run the CPU-heavy `service.digest` off the event loop with
//!    `tokio::task::spawn_blocking`: run inline, it stops every other task until it returns.
//! 3. Give each connection `limits.deadline` from when it starts being served
//!    (`tokio::time::timeout`), so that one slow connection times out alone.
//! 4. Retry a failed `receive` up to `limits.retries` times, waiting `limits.backoff` first with
//!    `tokio::time::sleep` (never `std::thread::sleep`, which stops the whole thread).
//! 5. If the caller drops the future `serve_all` returns, no connection goes on being served.
//!
//! This exercise uses tokio directly, not `crate::sync`: the model checker cannot see inside
//! tokio's scheduler. `src/sync.rs` is there only because every crate of the course has one.
//!
//! Check your work with `cargo xtask check 13`; watch one thread serve 10 000 connections (and
//! what an inline digest does to them) with
//! `cargo run -p async_server --example async_server_demo`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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

// ANCHOR: one_at_a_time
/// Serves connections `0..connections` and returns their replies in connection order.
pub async fn serve_all<S: Service>(
    service: Arc<S>,
    connections: usize,
    limits: Limits,
) -> Vec<Reply> {
    // TODO: spawn one task per connection into a `tokio::task::JoinSet`, each
    // holding a permit of a `tokio::sync::Semaphore` with `limits.max_in_flight`
    // permits, and put every reply in its connection's slot.
    let _ = limits;
    let mut replies = Vec::with_capacity(connections);
    for connection in 0..connections {
        // TODO: give each connection `tokio::time::timeout(limits.deadline, ...)`.
        // TODO: on `Err`, retry up to `limits.retries` times, after
        // `tokio::time::sleep(limits.backoff).await`.
        let reply = match service.receive(connection).await {
            // TODO: run the digest with `tokio::task::spawn_blocking`; inline,
            // it blocks every other connection until it returns.
            Ok(request) => Reply::Digest(service.digest(&request)),
            Err(error) => Reply::Failed(error),
        };
        replies.push(reply);
    }
    replies
}
// ANCHOR_END: one_at_a_time
