//! Typed call values: cage ids and `(value, argcage)` argument pairs.

use crate::consts::{GRATE_MEMORY_FLAG, UNUSED_ARG};
use std::fmt;

/// A cage id. Small integers from 1, never reused (docs/lind-3i.md §7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CageId(pub u64);

impl fmt::Display for CageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One argument as 3i carries it: a value and the cage that owns it.
///
/// For a pointer the value is a host address in the argcage's memory; for a
/// scalar the argcage names the caller, and downstream grates rely on that
/// (docs/lind-3i.md §2.3), so only pointer argcages are ever substituted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Arg {
    pub value: u64,
    pub cage: u64,
}

/// The six argument pairs of every call.
pub type Args = [Arg; 6];

impl Arg {
    /// A scalar (or a foreign host address) owned by `cage`.
    pub const fn new(value: u64, cage: CageId) -> Arg {
        Arg {
            value,
            cage: cage.0,
        }
    }

    /// An unused slot, as glibc fills it for a call made by `caller`.
    pub const fn unused(caller: CageId) -> Arg {
        Arg::new(UNUSED_ARG, caller)
    }

    /// A guest pointer into the caller's own memory: the caller's libc turns
    /// it into a host address before 3i sees it.
    pub const fn own_ptr(guest_addr: u64, me: CageId) -> Arg {
        Arg {
            value: guest_addr,
            cage: me.0 | GRATE_MEMORY_FLAG,
        }
    }

    /// The owning cage with the translate flag cleared.
    pub const fn owner(self) -> CageId {
        CageId(self.cage & !GRATE_MEMORY_FLAG)
    }

    /// The value as a C `int` (fds, flags, counts), as the callee reads it.
    pub const fn as_i32(self) -> i32 {
        self.value as i32
    }

    /// Six slots, all unused, for a call made by `caller`.
    pub const fn all_unused(caller: CageId) -> Args {
        [Arg::unused(caller); 6]
    }
}

/// Builds the six argument pairs of a call made by `caller`: given values
/// first, the remaining slots unused, every argcage the caller (as glibc's
/// MAKE_LEGACY_SYSCALL sets them).
pub fn args_of(caller: CageId, values: &[u64]) -> Args {
    let mut args = Arg::all_unused(caller);
    for (slot, &value) in args.iter_mut().zip(values) {
        slot.value = value;
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_pointer_names_its_owner_without_the_flag() {
        let arg = Arg::own_ptr(0x1000, CageId(7));
        assert_eq!(arg.owner(), CageId(7));
        assert_ne!(arg.cage, 7);
    }

    #[test]
    fn args_of_fills_unused_slots_with_the_caller() {
        let args = args_of(CageId(3), &[4, 5]);
        assert_eq!(args[1], Arg::new(5, CageId(3)));
        assert_eq!(args[5], Arg::unused(CageId(3)));
    }
}
