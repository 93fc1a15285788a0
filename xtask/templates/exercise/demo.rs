//! Shows the exercise live: counts on 4 threads.
//!
//! Run it with `cargo run -p @name@ --example @name@_demo`.

fn main() {
    let counted = @name@::count_on_threads(4);
    println!("4 threads counted {counted}");
}
