//! Producers and consumers through your queue: back-pressure, shutdown, and what it costs.
//!
//! Run it with `cargo run -p bounded_queue --example bounded_queue_demo`. Two producers push 50 000 numbers
//! each into a queue of 8; two consumers add up what they pop until `pop` returns `None` after
//! `close`. The demo prints the totals, the time taken, and how much CPU time the process used:
//! a queue that spins instead of waiting shows it there.

use std::time::Instant;

use bounded_queue::BoundedQueue;

const PRODUCERS: u64 = 2;
const CONSUMERS: usize = 2;
const PER_PRODUCER: u64 = 50_000;
const CAPACITY: usize = 8;

/// CPU time the whole process has used so far. `getrusage` is Unix (Linux, macOS); on
/// Windows the demo shows wall time only.
#[cfg(unix)]
fn process_cpu_seconds() -> Option<f64> {
    // SAFETY: getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

#[cfg(not(unix))]
fn process_cpu_seconds() -> Option<f64> {
    None
}

fn main() {
    let queue = BoundedQueue::new(CAPACITY);
    let started = Instant::now();
    let cpu_before = process_cpu_seconds();
    let (popped, total) = std::thread::scope(|scope| {
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                scope.spawn(|| {
                    let (mut count, mut sum) = (0u64, 0u64);
                    while let Some(value) = queue.pop() {
                        count += 1;
                        sum += value;
                    }
                    (count, sum)
                })
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|producer| {
                let queue = &queue;
                scope.spawn(move || {
                    for value in 0..PER_PRODUCER {
                        queue
                            .push(producer * PER_PRODUCER + value)
                            .expect("nobody closes the queue before the producers finish");
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        queue.close();
        consumers
            .into_iter()
            .map(|consumer| consumer.join().unwrap())
            .fold((0, 0), |(count, sum), (c, s)| (count + c, sum + s))
    });
    let items = PRODUCERS * PER_PRODUCER;
    println!(
        "popped {popped} of {items} items, sum {total} (expected {})",
        items * (items - 1) / 2
    );
    let wall = started.elapsed().as_secs_f64() * 1e3;
    match (cpu_before, process_cpu_seconds()) {
        (Some(before), Some(after)) => {
            println!(
                "{wall:.0} ms of wall time, {:.0} ms of CPU time",
                (after - before) * 1e3
            )
        }
        _ => println!("{wall:.0} ms of wall time (CPU time is shown on Linux and macOS)"),
    }
}
