//! Reference solution of exercise 08: overlapping slow I/O.

mod sync;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sync::atomic::{AtomicUsize, Ordering};
use sync::Mutex;

/// How long [`fetch`] waits for an answer before it gives up.
const ANSWER_PATIENCE: Duration = Duration::from_secs(30);

/// Fetches one resource: sends `GET <resource>\n` and reads the answer to the end. `OK <body>`
/// becomes `Ok(body)`; `ERR <reason>` becomes an error. This function is complete.
pub fn fetch(server: SocketAddr, resource: &str) -> io::Result<String> {
    let mut connection = TcpStream::connect(server)?;
    connection.set_read_timeout(Some(ANSWER_PATIENCE))?;
    connection.write_all(format!("GET {resource}\n").as_bytes())?;
    let mut answer = String::new();
    connection.read_to_string(&mut answer)?;
    let answer = answer.trim_end_matches('\n');
    if let Some(body) = answer.strip_prefix("OK ") {
        Ok(body.to_owned())
    } else if let Some(reason) = answer.strip_prefix("ERR ") {
        Err(io::Error::other(format!(
            "the server refused `{resource}`: {reason}"
        )))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the server answered `{resource}` with `{answer}`, neither OK nor ERR"),
        ))
    }
}

// ANCHOR: fetch_all
/// Fetches every resource and returns the results in the order of `resources`. Keeps up to
/// `max_in_flight` requests going at once, and never more. Panics when `max_in_flight` is 0.
pub fn fetch_all(
    server: SocketAddr,
    resources: &[&str],
    max_in_flight: usize,
) -> Vec<io::Result<String>> {
    assert!(
        max_in_flight > 0,
        "max_in_flight is 0: with no request allowed in flight, nothing can ever be fetched"
    );
    // A bounded pool: each worker has at most one request in flight, so `max_in_flight`
    // workers can never exceed the cap, and a worker that finishes takes the next resource at
    // once instead of waiting for a whole batch to finish.
    let next_resource = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<io::Result<String>>>> =
        Mutex::new(resources.iter().map(|_| None).collect());
    let workers = max_in_flight.min(resources.len());
    sync::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next_resource.fetch_add(1, Ordering::Relaxed);
                let Some(resource) = resources.get(index) else {
                    break;
                };
                let result = fetch(server, resource);
                // Each result goes to its resource's slot, so the order of the answers does
                // not matter.
                results.lock().unwrap()[index] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|result| result.expect("the workers take every index below resources.len()"))
        .collect()
}
// ANCHOR_END: fetch_all
