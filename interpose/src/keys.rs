//! Handler keys: what the tee and the replayer register as a handler's
//! function pointer and get back in `Program::handle`: a role in the high
//! half, a call number in the low half. And the one registry of private
//! call numbers: the channels between each engine and the cages that end
//! its chains (hold cages for the tee, driver cages for the replayer). No
//! app or grate issues them, so none can be mistaken for app I/O; every
//! descendant of the cage they are registered on inherits them
//! (docs/lind-3i.md §15).

use boundary::nr::PRIVATE_BASE;
use boundary::{CageId, Errno, ThreeI};

/// A tee hold cage reports in (arg1: 0 primary, 1 secondary) and blocks;
/// returns [`START_APP`] to the primary hold once, then 0 at shutdown.
pub const HOLD_CHECKIN: u32 = PRIVATE_BASE + 1;
/// The primary hold forked the app (arg1: its cage id) and waits for the tee
/// to set it up before it execs.
pub const HOLD_ADOPT: u32 = PRIVATE_BASE + 2;
/// The primary hold reaped the app (arg1: cage id, arg2: wait status).
pub const HOLD_APP_EXITED: u32 = PRIVATE_BASE + 3;
/// [`HOLD_CHECKIN`]'s answer that tells the primary hold to start the app.
pub const START_APP: i32 = 1;
/// The tee's private numbers, registered on its hold cages' ancestors.
pub const TEE_CALLS: [u32; 3] = [HOLD_CHECKIN, HOLD_ADOPT, HOLD_APP_EXITED];

/// A replay driver reports the outcome of its last step, if it has one
/// (arg1: buffer or 0, arg2: length), and asks for its next step, copied to
/// its buffer (arg3) if it fits in arg4 bytes: one hop per step. The result
/// is the step's encoded length; a length above arg4 means fetch it. The
/// last argument of every step call (here arg5) is the driver's stack, the
/// place of its stack on tee-replay's command line (from 0).
pub const STEP_NEXT: u32 = PRIVATE_BASE + 0x101;
/// The driver fetches a staged step too big for its buffer into a buffer
/// of that length (arg1; arg2: its stack).
pub const STEP_FETCH: u32 = PRIVATE_BASE + 0x102;
/// The driver forked (arg1: the recorded child cage, arg2: the new driver,
/// arg3: its stack).
pub const STEP_FORKED: u32 = PRIVATE_BASE + 0x104;
/// The replayer's private numbers, registered on the stack's top cage.
pub const REPLAY_CALLS: [u32; 3] = [STEP_NEXT, STEP_FETCH, STEP_FORKED];

/// What a handler registration is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A call issued by an app cage: tee it.
    App = 1,
    /// A call a stack sent down: answer it from a known result.
    Floor = 2,
    /// A hold or driver cage talking to its engine.
    Private = 3,
}

/// The key registered for `role` handling `nr`.
pub const fn key(role: Role, nr: u32) -> u64 {
    ((role as u64) << 32) | nr as u64
}

/// The role and call number a key stands for.
pub fn split(key: u64) -> Option<(Role, u32)> {
    let nr = key as u32;
    match key >> 32 {
        1 => Some((Role::App, nr)),
        2 => Some((Role::Floor, nr)),
        3 => Some((Role::Private, nr)),
        _ => None,
    }
}

/// Registers floor handlers for every catalog call and `private` handlers
/// on `cage`, before it execs the top grate of a stack: everything the
/// stack sends down, and the grates' own I/O, then reaches the floor.
pub fn install_floor(rt: &dyn ThreeI, cage: CageId, private: &[u32]) -> Result<(), Errno> {
    let floor = abi::catalog::CATALOG
        .iter()
        .filter(|i| i.nr < boundary::nr::REGISTER_HANDLER)
        .map(|i| i.nr);
    register_role(rt, cage, Role::Floor, floor)?;
    install_private(rt, cage, private)
}

/// Registers `private` handlers on `cage`: the channel to a hold or driver
/// that ends the chain started there.
pub fn install_private(rt: &dyn ThreeI, cage: CageId, private: &[u32]) -> Result<(), Errno> {
    register_role(rt, cage, Role::Private, private.iter().copied())
}

/// Registers `role`'s handler for each of `calls` on `cage`.
pub fn register_role(
    rt: &dyn ThreeI,
    cage: CageId,
    role: Role,
    calls: impl Iterator<Item = u32>,
) -> Result<(), Errno> {
    for nr in calls {
        rt.register_handler(cage, nr, key(role, nr))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn private_numbers_are_distinct_and_outside_the_catalog() {
        let all: Vec<u32> = super::TEE_CALLS
            .iter()
            .chain(&super::REPLAY_CALLS)
            .copied()
            .collect();
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{all:?}");
        for nr in all {
            assert!(abi::catalog::lookup(nr).is_none(), "{nr:#x} is a real call");
        }
    }

    use super::*;

    #[test]
    fn keys_round_trip() {
        assert_eq!(split(key(Role::Floor, 17)), Some((Role::Floor, 17)));
        assert_eq!(
            split(key(Role::Private, 0x7E00_0001)),
            Some((Role::Private, 0x7E00_0001))
        );
        assert_eq!(split(17), None);
    }
}
