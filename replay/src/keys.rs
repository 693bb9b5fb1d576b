//! Handler keys: what the tee and the replayer register as a handler's
//! function pointer and get back in `Program::handle`: a role in the high
//! half, a call number in the low half.

use boundary::{CageId, Errno, ThreeI};

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
    let floor = formats::CATALOG
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
        rt.register_handler(cage, nr, key(role, nr))
            .map_err(|ret| Errno::from_ret(ret).unwrap_or(Errno::ESRCH))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
