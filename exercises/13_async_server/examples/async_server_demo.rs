//! Serves 10 000 simulated connections on one thread, then shows what a slow digest does to
//! the event loop.
//!
//! Run it with `cargo run -p async_server --example async_server_demo`. Both parts run your
//! `serve_all` on a current-thread runtime, with the real clock:
//!
//! 1. 10 000 connections that each wait 200 ms for their request. Served concurrently, that
//!    takes a little over 200 ms on the one thread; one at a time it would take 2 000 s, so the
//!    demo gives up after 5 s.
//! 2. 8 connections whose digest keeps a processor busy for 100 ms, while a heartbeat task
//!    asks to run every 5 ms. The longest the heartbeat had to wait tells how long the event
//!    loop was stuck: well under 100 ms when the digests run on the blocking pool, 100 ms or more when
//!    they run inline and nothing else can run meanwhile.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_server::{serve_all, Limits, Reply, Service};

struct Simulated {
    wait: Duration,
    digest_cost: Duration,
}

impl Service for Simulated {
    fn receive(&self, connection: usize) -> impl Future<Output = Result<Vec<u8>, String>> + Send {
        let wait = self.wait;
        async move {
            tokio::time::sleep(wait).await;
            Ok(format!("GET /item/{connection}").into_bytes())
        }
    }

    fn digest(&self, request: &[u8]) -> u64 {
        // Busy on purpose: this stands for parsing, hashing or compressing a large request.
        let started = Instant::now();
        let mut hash = 0xcbf2_9ce4_8422_2325_u64;
        while started.elapsed() < self.digest_cost {
            for &byte in request {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash
    }
}

fn limits(max_in_flight: usize) -> Limits {
    Limits {
        max_in_flight,
        deadline: Duration::from_secs(30),
        retries: 0,
        backoff: Duration::from_millis(10),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        // One blocking thread, so that on a 2-core machine the digests never take the event
        // loop's core: a gap in the heartbeat then means the loop itself was stuck.
        .max_blocking_threads(1)
        .build()
        .expect("a current-thread runtime can be built");
    runtime.block_on(async {
        println!("1. 10 000 connections, each waiting 200 ms, on one thread");
        let service = Arc::new(Simulated {
            wait: Duration::from_millis(200),
            digest_cost: Duration::ZERO,
        });
        let started = Instant::now();
        let served = tokio::time::timeout(
            Duration::from_secs(5),
            serve_all(service, 10_000, limits(10_000)),
        )
        .await;
        match served {
            Ok(replies) => println!(
                "   {} replies in {:.0} ms: the waits overlapped",
                replies
                    .iter()
                    .filter(|r| matches!(r, Reply::Digest(_)))
                    .count(),
                started.elapsed().as_secs_f64() * 1000.0
            ),
            Err(_) => println!(
                "   not done after 5 s: connections are served one at a time \
                 (10 000 × 200 ms would take 2 000 s)"
            ),
        }

        println!("2. 8 connections with a 100 ms digest, and a heartbeat every 5 ms");
        let worst_gap_micros = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let heartbeat = {
            let (worst, stop) = (worst_gap_micros.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let asked = Instant::now();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let gap = asked.elapsed().as_micros() as u64;
                    worst.fetch_max(gap, Ordering::Relaxed);
                }
            })
        };
        let service = Arc::new(Simulated {
            wait: Duration::from_millis(1),
            digest_cost: Duration::from_millis(100),
        });
        let started = Instant::now();
        serve_all(service, 8, limits(8)).await;
        stop.store(true, Ordering::Relaxed);
        heartbeat.await.expect("the heartbeat does not panic");
        println!(
            "   served in {:.0} ms; the heartbeat, due every 5 ms, waited up to {:.0} ms",
            started.elapsed().as_secs_f64() * 1000.0,
            worst_gap_micros.load(Ordering::Relaxed) as f64 / 1000.0
        );
    });
}
