//! Time without Rust std's clocks.
//!
//! On `wasm32-wasip1`, `std::time::Instant`, `SystemTime` and
//! `thread::sleep` are built on wasi-libc clock objects (`_CLOCK_MONOTONIC`,
//! `_CLOCK_REALTIME`, `clock_nanosleep`) that Lind's glibc does not have, so
//! a grate that uses them does not link. Engines therefore read time with
//! the `clock_gettime` call (228) through their own table, as Lind's glibc
//! does, and wait with a timed futex wait, which needs no clock at all.

use crate::threei::ThreeI;
use abi::sync::lock;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// `CLOCK_REALTIME`: wall time since the Unix epoch.
pub const CLOCK_REALTIME: i32 = 0;
/// `CLOCK_MONOTONIC`: time since an arbitrary fixed point.
pub const CLOCK_MONOTONIC: i32 = 1;

pub use crate::threei::{timespec_ns, TIMESPEC_SIZE};

/// A clock an engine can keep beyond one call: reads time through its cage's
/// own table.
#[derive(Clone)]
pub struct GuestClock {
    rt: Arc<dyn ThreeI>,
}

impl std::fmt::Debug for GuestClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestClock").finish_non_exhaustive()
    }
}

impl GuestClock {
    /// The clock of the cage `rt` stands for.
    pub fn new(rt: &dyn ThreeI) -> GuestClock {
        GuestClock { rt: rt.detach() }
    }

    /// Monotonic time in nanoseconds; `None` if the clock cannot be read.
    pub fn monotonic_ns(&self) -> Option<u64> {
        self.rt.clock_ns(CLOCK_MONOTONIC).ok()
    }

    /// Monotonic time in microseconds; 0 if the clock cannot be read.
    pub fn monotonic_us(&self) -> u64 {
        self.monotonic_ns().map_or(0, |ns| ns / 1_000)
    }

    /// Wall time in milliseconds since the Unix epoch; 0 if unreadable.
    pub fn unix_ms(&self) -> u64 {
        self.rt
            .clock_ns(CLOCK_REALTIME)
            .map_or(0, |ns| ns / 1_000_000)
    }
}

/// Blocks the calling thread for about `period`: a timed futex wait on a
/// condition nobody signals, which is what `thread::sleep` cannot be on
/// Lind.
pub fn pause(period: Duration) {
    let asleep = Mutex::new(());
    let idle = Condvar::new();
    let guard = lock(&asleep);
    let _ = idle
        .wait_timeout(guard, period)
        .unwrap_or_else(|e| e.into_inner());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timespec_is_seconds_and_nanoseconds() {
        let mut raw = [0u8; TIMESPEC_SIZE];
        raw[..8].copy_from_slice(&3i64.to_le_bytes());
        raw[8..].copy_from_slice(&25i64.to_le_bytes());
        assert_eq!(timespec_ns(&raw), 3_000_000_025);
        raw[..8].copy_from_slice(&(-1i64).to_le_bytes());
        assert_eq!(timespec_ns(&raw), 25);
    }

    #[test]
    fn pause_waits_without_a_waker() {
        // No timing assertion: only that it returns.
        pause(Duration::from_millis(1));
    }
}
