//! The writer's sense of time, for [`SyncPolicy::EveryMillis`](crate::SyncPolicy).
//!
//! A clock is passed in rather than read from `std::time`: on Lind, Rust
//! std's clocks do not link (they need wasi-libc objects Lind's glibc
//! lacks), so a grate supplies one that asks its runtime instead.

/// A monotonic clock in milliseconds from any fixed point.
pub trait Clock: Send + Sync {
    /// Milliseconds since the clock's fixed point.
    fn now_ms(&self) -> u64;
}

/// `std::time::Instant`, for everything that does not run on Lind.
#[cfg(not(target_os = "wasi"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[cfg(not(target_os = "wasi"))]
impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        use std::sync::OnceLock;
        use std::time::Instant;
        static START: OnceLock<Instant> = OnceLock::new();
        let elapsed = START.get_or_init(Instant::now).elapsed();
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }
}
