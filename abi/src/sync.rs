//! The workspace's one locking rule, beside the facts every crate reads.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, going on past a panicked holder: every lock here guards
/// state that is whole between statements (a table, a queue, a counter),
/// and a tee, a replayer or a grate that stopped at one poisoned lock
/// would turn one failed call into a hang of everything after it.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let held = m.clone();
        let _ = std::thread::spawn(move || {
            let _guard = held.lock().unwrap();
            panic!("the holder fails");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
