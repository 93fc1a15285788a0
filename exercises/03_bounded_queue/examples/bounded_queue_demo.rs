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

fn process_cpu_seconds() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the struct it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
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
    println!(
        "{:.0} ms of wall time, {:.0} ms of CPU time",
        started.elapsed().as_secs_f64() * 1e3,
        (process_cpu_seconds() - cpu_before) * 1e3
    );
}
