//! Limits every part of the project applies alike.

/// The value glibc puts in an unused argument slot (docs/lind-3i.md §2.3).
pub const UNUSED_ARG: u64 = 0xdead_beef_dead_beef;

/// The longest path a call may pass, NUL included (Linux's `PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// The most bytes one call's buffers may take when an engine lays them out
/// in its own memory: a secondary's scratch, a floor's echo check, a
/// replay driver's outputs. Bigger calls are not duplicated or replayed.
pub const MAX_CALL_BYTES: u64 = 64 << 20;

/// Lind's largest cage id; ids are never reused (docs/lind-3i.md §7.3).
pub const MAX_CAGEID: u64 = 2048;

/// Logs at least this large get a progress bar on a terminal from the
/// native tools (replay, salvage, stats, timeline); smaller ones are read
/// before a bar would be worth drawing.
pub const PROGRESS_MIN_BYTES: u64 = 4 << 20;
