//! What shuttle's async executor can check, for exercise 13's chapter. Shuttle runs each
//! spawned future as a task of its own and may switch tasks at every `.await` and every
//! operation on its locks, as a multi-threaded runtime may; it explores those orders.

#[cfg(test)]
mod tests {
    use shuttle::sync::{Arc, Mutex};

    // ANCHOR: await_race
    /// Two tasks each add 1 to a shared balance. With `split`, a task reads the balance,
    /// awaits something (here a yield, in real code a database call) and then writes back
    /// what it read plus one; without, it adds under one lock, with no `.await` inside.
    fn deposit_twice(split: bool) -> u64 {
        shuttle::future::block_on(async move {
            let balance = Arc::new(Mutex::new(0));
            let deposits: Vec<_> = (0..2)
                .map(|_| {
                    let balance = balance.clone();
                    shuttle::future::spawn(async move {
                        if split {
                            let seen = *balance.lock().unwrap();
                            shuttle::future::yield_now().await;
                            *balance.lock().unwrap() = seen + 1;
                        } else {
                            *balance.lock().unwrap() += 1;
                        }
                    })
                })
                .collect();
            for deposit in deposits {
                deposit.await.expect("a deposit does not panic");
            }
            let total = *balance.lock().unwrap();
            total
        })
    }

    /// Shuttle tries every order of the two tasks: adding under one lock loses nothing.
    #[test]
    fn adding_under_one_lock_loses_nothing() {
        shuttle::check_dfs(|| assert_eq!(deposit_twice(false), 2), None);
    }

    /// Split around an `.await`, shuttle finds the order that loses a deposit: both read 0.
    #[test]
    fn an_await_between_read_and_write_loses_a_deposit() {
        let found = std::panic::catch_unwind(|| {
            shuttle::check_dfs(|| assert_eq!(deposit_twice(true), 2, "lost"), None)
        });
        assert!(found.is_err(), "shuttle must find the lost deposit");
    }
    // ANCHOR_END: await_race
}
