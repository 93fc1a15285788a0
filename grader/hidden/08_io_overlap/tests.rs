//! Hidden tests of exercise 08: fetch_all against a loopback server the test controls.
//!
//! The server counts the requests in flight: one more when it has read a request, one fewer
//! just before it writes the answer. A client that waits for an answer before it starts its
//! next request can therefore never be counted twice, so "never more than k" is exact, and
//! "k at once" is proven by holding requests until k have arrived. A client that never sends
//! them would leave the held requests waiting for ever; instead the grader's watcher
//! (harness::rendezvous) sees from /proc that every thread is asleep with nothing left to wake
//! it, and lets them go. Nothing here reads the clock to decide a verdict; the time taken is
//! only reported as a note.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the server has seen so far.
#[derive(Debug, Default)]
struct Seen {
    in_flight: usize,
    peak_in_flight: usize,
    requests: usize,
    /// Set when the watcher saw that nothing could move any more while requests were held:
    /// from then on nobody waits.
    rendezvous_missed: bool,
}

struct Server {
    address: SocketAddr,
    seen: Arc<(Mutex<Seen>, Condvar)>,
}

/// How the server behaves.
#[derive(Clone, Copy)]
struct Behaviour {
    /// How long the server takes to answer a resource.
    latency: fn(&str) -> Duration,
    /// Hold every request until this many have been in flight at once.
    hold_until_in_flight: usize,
    /// Hold the answer to `page-0` until this many requests have arrived in all.
    hold_page_0_until_requests: usize,
}

impl Behaviour {
    fn holding(latency: fn(&str) -> Duration, hold_until_in_flight: usize) -> Behaviour {
        Behaviour {
            latency,
            hold_until_in_flight,
            hold_page_0_until_requests: 0,
        }
    }
}

impl Server {
    /// Starts a server on 127.0.0.1 that answers `connections` requests and then stops
    /// accepting. Resources named `missing-...` get an `ERR` answer; every other resource
    /// `name` gets `OK body of name`.
    fn start(connections: usize, behaviour: Behaviour) -> Server {
        let listener =
            TcpListener::bind("127.0.0.1:0").expect("the test could not bind a loopback port");
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
        let for_server = seen.clone();
        std::thread::spawn(move || {
            for connection in listener.incoming().take(connections) {
                let Ok(connection) = connection else { continue };
                let seen = for_server.clone();
                std::thread::spawn(move || answer(connection, &seen, behaviour));
            }
        });
        Server { address, seen }
    }

    fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.seen.0.lock().unwrap())
    }

    /// Runs fetch_all while the grader watches: when every thread is asleep with nothing left
    /// to wake it, the held requests can only be waiting for requests that will never come, so
    /// they are let go and the test judges what the server saw.
    fn fetch_all_watched(&self, resources: &[&str], max_in_flight: usize) -> Vec<std::io::Result<String>> {
        let watcher = harness::rendezvous::Rendezvous::new(u32::MAX);
        watcher.watch(
            || {
                let (lock, changed) = &*self.seen;
                lock.lock().unwrap().rendezvous_missed = true;
                changed.notify_all();
            },
            || io_overlap::fetch_all(self.address, resources, max_in_flight),
        )
    }
}

fn answer(connection: TcpStream, seen: &(Mutex<Seen>, Condvar), behaviour: Behaviour) {
    let mut request = String::new();
    if BufReader::new(&connection).read_line(&mut request).is_err() {
        return;
    }
    let resource = request
        .trim_end()
        .strip_prefix("GET ")
        .unwrap_or("")
        .to_owned();
    let (lock, changed) = seen;
    {
        let mut state = lock.lock().unwrap();
        state.in_flight += 1;
        state.requests += 1;
        state.peak_in_flight = state.peak_in_flight.max(state.in_flight);
        changed.notify_all();
        let held_page = if resource == "page-0" {
            behaviour.hold_page_0_until_requests
        } else {
            0
        };
        let _state = changed
            .wait_while(state, |s| {
                !s.rendezvous_missed
                    && (s.peak_in_flight < behaviour.hold_until_in_flight
                        || s.requests < held_page)
            })
            .unwrap();
    }
    std::thread::sleep((behaviour.latency)(&resource));
    // One fewer in flight *before* the answer goes out: the client cannot start its next
    // request until it has read this answer, so it is never counted twice.
    lock.lock().unwrap().in_flight -= 1;
    let reply = match resource.strip_prefix("missing-") {
        Some(_) => format!("ERR no resource named {resource}\n"),
        None => format!("OK body of {resource}\n"),
    };
    let mut connection = connection;
    let _ = connection.write_all(reply.as_bytes());
}

fn names(count: usize) -> Vec<String> {
    (0..count).map(|index| format!("page-{index}")).collect()
}

fn as_strs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// Asserts that every result is the body of its own resource.
fn assert_bodies_in_order(
    resources: &[&str],
    results: &[std::io::Result<String>],
    max_in_flight: usize,
) {
    assert!(
        results.len() == resources.len(),
        "fetch_all returned {} results for {} resources (max_in_flight {max_in_flight}): it must \
         return exactly one result per resource",
        results.len(),
        resources.len()
    );
    for (index, (resource, result)) in resources.iter().zip(results).enumerate() {
        match result {
            Ok(body) => assert!(
                *body == format!("body of {resource}"),
                "result {index} is `{body}`, but resource {index} is `{resource}`: results must \
                 be in the order of the resources, not in the order the answers arrived"
            ),
            Err(error) => panic!("fetching `{resource}` (result {index}) failed: {error}"),
        }
    }
}

fn fixed_latency(_: &str) -> Duration {
    Duration::from_millis(50)
}

/// The first page answers long after all the others.
fn first_page_slowest(resource: &str) -> Duration {
    if resource == "page-0" {
        Duration::from_millis(400)
    } else {
        Duration::from_millis(10)
    }
}

fn fetch_all_returns_every_body_in_input_order() {
    let resources = names(7);
    let resources = as_strs(&resources);
    let server = Server::start(
        resources.len(),
        Behaviour::holding(first_page_slowest, 0),
    );
    let results = io_overlap::fetch_all(server.address, &resources, 3);
    assert_bodies_in_order(&resources, &results, 3);
    let requests = server.seen(|s| s.requests);
    assert!(
        requests == resources.len(),
        "the server got {requests} requests for {} resources: fetch each resource exactly once",
        resources.len()
    );
}

fn fetch_all_keeps_max_in_flight_requests_going() {
    const RESOURCES: usize = 8;
    const MAX_IN_FLIGHT: usize = 4;
    let resources = names(RESOURCES);
    let resources = as_strs(&resources);
    let server = Server::start(
        RESOURCES,
        Behaviour::holding(fixed_latency, MAX_IN_FLIGHT),
    );
    let started = Instant::now();
    let results = server.fetch_all_watched(&resources, MAX_IN_FLIGHT);
    let elapsed = started.elapsed();
    let ideal = fixed_latency("") * RESOURCES.div_ceil(MAX_IN_FLIGHT) as u32;
    harness::note(format!(
        "{RESOURCES} requests of 50 ms with at most {MAX_IN_FLIGHT} in flight took {} ms; \
         ceil({RESOURCES} / {MAX_IN_FLIGHT}) × 50 ms = {} ms, one after another {} ms",
        elapsed.as_millis(),
        ideal.as_millis(),
        (fixed_latency("") * RESOURCES as u32).as_millis()
    ));
    assert_bodies_in_order(&resources, &results, MAX_IN_FLIGHT);
    let peak = server.seen(|s| s.peak_in_flight);
    assert!(
        peak >= MAX_IN_FLIGHT,
        "at most {peak} of the {MAX_IN_FLIGHT} allowed requests were in flight at once, though \
         the server held each request until {MAX_IN_FLIGHT} had arrived, and nothing else moved: \
         fetch_all must send up to max_in_flight requests before it waits for any answer. One \
         request at a time takes n × latency instead of ceil(n / k) × latency"
    );
}

/// The answer to page-0 is held until every other page has been requested. A client that keeps
/// max_in_flight requests going sends them all on its other slots meanwhile; one that waits for
/// a whole batch of k before it starts the next never does, and the watcher lets page-0 go
/// once nothing else can move.
fn a_slow_answer_does_not_hold_up_the_other_slots() {
    const RESOURCES: usize = 6;
    const MAX_IN_FLIGHT: usize = 2;
    let resources = names(RESOURCES);
    let resources = as_strs(&resources);
    let server = Server::start(
        RESOURCES,
        Behaviour {
            latency: |_| Duration::ZERO,
            hold_until_in_flight: 0,
            hold_page_0_until_requests: RESOURCES,
        },
    );
    let results = server.fetch_all_watched(&resources, MAX_IN_FLIGHT);
    assert_bodies_in_order(&resources, &results, MAX_IN_FLIGHT);
    let missed = server.seen(|s| s.rendezvous_missed);
    let requests = server.seen(|s| s.requests);
    assert!(
        !missed,
        "while the answer to page-0 was held, only {requests} of the {RESOURCES} pages were \
         requested with max_in_flight {MAX_IN_FLIGHT}, and then nothing moved: a slot whose \
         request was answered must start the next one at once. Waiting for a whole batch of \
         max_in_flight answers before starting the next batch leaves slots idle behind the \
         slowest request"
    );
}

fn fetch_all_panics_when_max_in_flight_is_0() {
    let server = Server::start(1, Behaviour::holding(|_| Duration::ZERO, 0));
    let outcome = std::panic::catch_unwind(|| io_overlap::fetch_all(server.address, &["page-0"], 0));
    assert!(
        outcome.is_err(),
        "fetch_all with max_in_flight 0 returned; it must panic, since with no request allowed \
         in flight nothing could ever be fetched"
    );
}

fn fetch_all_never_exceeds_max_in_flight() {
    const RESOURCES: usize = 12;
    const MAX_IN_FLIGHT: usize = 3;
    let resources = names(RESOURCES);
    let resources = as_strs(&resources);
    let server = Server::start(
        RESOURCES,
        Behaviour::holding(|_| Duration::from_millis(100), MAX_IN_FLIGHT),
    );
    let results = server.fetch_all_watched(&resources, MAX_IN_FLIGHT);
    assert_bodies_in_order(&resources, &results, MAX_IN_FLIGHT);
    let peak = server.seen(|s| s.peak_in_flight);
    assert!(
        peak <= MAX_IN_FLIGHT,
        "the server saw {peak} requests in flight at once, but max_in_flight was \
         {MAX_IN_FLIGHT}: a thread per resource (or one worker too many) ignores the cap. Start \
         at most max_in_flight workers, each with one request in flight at a time"
    );
}

fn fetch_all_reports_a_failed_fetch_in_its_slot() {
    let resources = ["page-0", "missing-1", "page-2", "page-3"];
    let server = Server::start(
        resources.len(),
        Behaviour::holding(|_| Duration::from_millis(10), 0),
    );
    let results = io_overlap::fetch_all(server.address, &resources, 2);
    assert!(
        results.len() == resources.len(),
        "fetch_all returned {} results for {} resources, one of which fails: a failed fetch \
         still gets its own result, an Err, and the others go on",
        results.len(),
        resources.len()
    );
    for (index, (resource, result)) in resources.iter().zip(&results).enumerate() {
        match (resource.starts_with("missing-"), result) {
            (true, Err(_)) => {}
            (true, Ok(body)) => panic!(
                "result {index} is Ok(`{body}`), but the server refused `{resource}`: its slot \
                 must hold the Err that fetch returned"
            ),
            (false, Ok(body)) => assert!(
                *body == format!("body of {resource}"),
                "result {index} is `{body}`, but resource {index} is `{resource}`: a failed \
                 fetch must not shift the other results out of their slots"
            ),
            (false, Err(error)) => panic!(
                "fetching `{resource}` (result {index}) failed with `{error}`, though only \
                 `missing-1` was refused: one failure must not stop the others"
            ),
        }
    }
}

fn fetch_all_handles_more_slots_than_resources() {
    let resources = ["page-0", "page-1", "page-2"];
    let server = Server::start(
        resources.len(),
        Behaviour::holding(|_| Duration::from_millis(10), resources.len()),
    );
    let results = server.fetch_all_watched(&resources, 10);
    assert_bodies_in_order(&resources, &results, 10);
    let nothing = io_overlap::fetch_all(server.address, &[], 4);
    assert!(
        nothing.is_empty(),
        "fetch_all with no resources returned {} results instead of none",
        nothing.len()
    );
}

harness::hidden_tests![
    fetch_all_returns_every_body_in_input_order,
    fetch_all_keeps_max_in_flight_requests_going,
    fetch_all_never_exceeds_max_in_flight,
    a_slow_answer_does_not_hold_up_the_other_slots,
    fetch_all_panics_when_max_in_flight_is_0,
    fetch_all_reports_a_failed_fetch_in_its_slot,
    fetch_all_handles_more_slots_than_resources,
];
