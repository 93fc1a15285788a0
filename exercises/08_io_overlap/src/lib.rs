//! # Exercise 08: overlapping slow I/O
//!
//! Every resource lives on a server that takes a while to answer: say 50 ms. Fetched one after
//! another, 16 resources take 16 × 50 ms. A thread that waits for the network uses no processor,
//! though, so several threads can wait at the same time, and 16 resources fetched four at a time
//! take about 4 × 50 ms. The server allows only so many requests from one client at once, so
//! the number in flight must also be capped.
//!
//! Your task, marked `TODO`: make [`fetch_all`] keep up to `max_in_flight` requests going at
//! once, never more, and return the results in the order of the resources.
//!
//! Use threads from `crate::sync` (for example `sync::thread::scope`, `sync::Mutex` and
//! `sync::atomic::AtomicUsize`), never `std::thread` or `std::sync` directly.
//!
//! Check your work with `cargo xtask check 08`; see the waiting add up with
//! `cargo run -p io_overlap --example io_overlap_demo`.

mod sync;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

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

// ANCHOR: sequential
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
    // TODO: this waits for each answer before it sends the next request, so the waits add
    // up. Start `max_in_flight` workers (fewer when there are fewer resources) that each take
    // the next resource nobody has taken yet, until none are left, and put every result in
    // the slot of its resource.
    resources
        .iter()
        .map(|resource| fetch(server, resource))
        .collect()
}
// ANCHOR_END: sequential
