//! The argument packing of call 1001 (`register_handler`), docs/lind-3i.md §3.4.
//!
//! glibc packs the four logical arguments into value and cage slots in an
//! unusual order: the syscall number travels in arg1's *cage* slot and the
//! handler grate in arg2's. Anything that forwards or inspects 1001 must use
//! this module rather than generic argument handling.

use crate::args::{Arg, Args, CageId};
use crate::consts::{THREEI_DEREGISTER, UNUSED_ARG, UNUSED_CAGE};

/// "When cage `target` issues `nr`, run `fn_ptr` inside grate `grate`."
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    pub target: CageId,
    pub nr: u32,
    /// The handler's grate, or [`THREEI_DEREGISTER`] to remove the entry.
    pub grate: CageId,
    /// The handler's function-table index in `grate`'s module.
    pub fn_ptr: u64,
}

impl Registration {
    /// Whether this request removes the `(target, nr)` entry.
    pub fn is_deregistration(&self) -> bool {
        self.grate.0 == THREEI_DEREGISTER
    }

    /// The six argument pairs of call 1001, packed as glibc packs them.
    pub fn to_args(&self) -> Args {
        let mut args = [Arg {
            value: UNUSED_ARG,
            cage: UNUSED_CAGE,
        }; 6];
        args[0] = Arg {
            value: self.target.0,
            cage: u64::from(self.nr),
        };
        args[1] = Arg {
            value: UNUSED_ARG,
            cage: self.grate.0,
        };
        args[2] = Arg {
            value: self.fn_ptr,
            cage: UNUSED_CAGE,
        };
        args
    }

    /// Reads a 1001 request from the arguments a handler (or 3i) received.
    /// `None` when the number slot does not hold a 32-bit call number.
    pub fn from_args(args: &Args) -> Option<Registration> {
        let nr = u32::try_from(args[0].cage).ok()?;
        Some(Registration {
            target: CageId(args[0].value),
            nr,
            grate: CageId(args[1].cage),
            fn_ptr: args[2].value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_packs_number_and_grate_into_cage_slots() {
        let reg = Registration {
            target: CageId(3),
            nr: 1,
            grate: CageId(2),
            fn_ptr: 42,
        };
        let args = reg.to_args();
        assert_eq!((args[0].value, args[0].cage), (3, 1));
        assert_eq!(args[1].cage, 2);
        assert_eq!(args[2].value, 42);
        assert_eq!(Registration::from_args(&args), Some(reg));
    }

    #[test]
    fn deregistration_is_recognised() {
        let reg = Registration {
            target: CageId(3),
            nr: 1,
            grate: CageId(THREEI_DEREGISTER),
            fn_ptr: 0,
        };
        assert!(reg.is_deregistration());
    }
}
