//! Errno values, Linux numbering as RawPOSIX returns them (as `-errno`).

use std::fmt;

/// An errno value, 1 to 255 (what glibc reads as an errno, docs/lind-3i.md
/// §2.4). Calls return it negated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(i32);

macro_rules! errnos {
    ($($name:ident = $value:expr, $text:expr;)*) => {
        impl Errno {
            $(#[doc = $text] pub const $name: Errno = Errno($value);)*

            /// The C name of this errno, if it is one we know.
            pub fn name(self) -> Option<&'static str> {
                abi::errno::name(self.0)
            }
        }
    };
}

abi::errno_table!(errnos);

impl Errno {
    /// The errno numbered `n`, if it is one (1 to 255).
    pub const fn new(n: i32) -> Option<Errno> {
        if n > 0 && n < crate::consts::MAX_ERRNO {
            Some(Errno(n))
        } else {
            None
        }
    }

    /// Its number.
    pub const fn get(self) -> i32 {
        self.0
    }

    /// The value a call returns for this errno.
    pub const fn ret(self) -> i32 {
        -self.0
    }

    /// The errno a raw call result carries, if it is one (`-256 < ret < 0`).
    pub fn from_ret(ret: i32) -> Option<Errno> {
        (ret < 0 && ret > -crate::consts::MAX_ERRNO).then_some(Errno(-ret))
    }

    /// Whether `err` carries this errno. Compares the raw number: on
    /// wasm32-wasip1 std reads raw numbers as WASI's, so `err.kind()` of a
    /// Linux errno from Lind is wrong (EEXIST reads as something else).
    pub fn is_in(self, err: &std::io::Error) -> bool {
        err.raw_os_error() == Some(self.0)
    }

    /// The errno an I/O error carries, EIO when it has none.
    pub fn from_io(err: &std::io::Error) -> Errno {
        err.raw_os_error()
            .and_then(Errno::new)
            .unwrap_or(Errno::EIO)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "errno {}", self.0),
        }
    }
}

impl std::error::Error for Errno {}

/// `Ok(ret)` for a non-error result, `Err(errno)` otherwise.
pub fn check(ret: i32) -> Result<i32, Errno> {
    match Errno::from_ret(ret) {
        Some(errno) => Err(errno),
        None => Ok(ret),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_round_trips_through_a_result() {
        assert_eq!(Errno::from_ret(Errno::ENOENT.ret()), Some(Errno::ENOENT));
        assert_eq!(Errno::from_ret(0), None);
        assert_eq!(Errno::from_ret(crate::consts::GRATE_ERR), None);
        assert_eq!(Errno::from_ret(-256), None);
    }

    #[test]
    fn errno_names_itself() {
        assert_eq!(Errno::EBADF.to_string(), "EBADF");
        assert_eq!(Errno::new(200).unwrap().to_string(), "errno 200");
    }

    #[test]
    fn only_what_glibc_reads_as_an_errno_is_one() {
        assert_eq!(Errno::new(0), None);
        assert_eq!(Errno::new(256), None);
        assert_eq!(Errno::new(-2), None);
        assert_eq!(Errno::new(2), Some(Errno::ENOENT));
    }
}
