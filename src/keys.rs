//! The tee's private call numbers: the channel between the tee and its
//! hold cages. No app or grate issues them, so none can be mistaken for app
//! I/O.

use boundary::nr::PRIVATE_BASE;

/// A hold cage reports in (arg1: 0 primary, 1 secondary) and blocks; returns
/// [`START_APP`] to the primary hold once, then 0 at shutdown.
pub const HOLD_CHECKIN: u32 = PRIVATE_BASE + 1;
/// The primary hold forked the app (arg1: its cage id) and waits for the tee
/// to set it up before it execs.
pub const HOLD_ADOPT: u32 = PRIVATE_BASE + 2;
/// The primary hold reaped the app (arg1: cage id, arg2: wait status).
pub const HOLD_APP_EXITED: u32 = PRIVATE_BASE + 3;

/// [`HOLD_CHECKIN`]'s answer that tells the primary hold to start the app.
pub const START_APP: i32 = 1;

/// Every private number, for registration on hold cages' ancestors.
pub const PRIVATE_CALLS: [u32; 3] = [HOLD_CHECKIN, HOLD_ADOPT, HOLD_APP_EXITED];
