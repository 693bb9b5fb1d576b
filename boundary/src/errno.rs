//! Errno values, Linux numbering as RawPOSIX returns them (as `-errno`).

use std::fmt;

/// A positive errno value. Calls return it negated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $value:expr, $text:expr;)*) => {
        impl Errno {
            $(#[doc = $text] pub const $name: Errno = Errno($value);)*

            /// The C name of this errno, if it is one we know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process (target cage dead)";
    EINTR = 4, "Interrupted";
    EIO = 5, "I/O error";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Try again";
    ENOMEM = 12, "Out of memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Cross-device link";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Not a typewriter";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EPIPE = 32, "Broken pipe";
    ERANGE = 34, "Result out of range";
    ENAMETOOLONG = 36, "File name too long";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many symbolic links";
    EBADFD = 77, "File descriptor in bad state (fdtables' lookup error)";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EOPNOTSUPP = 95, "Operation not supported";
}

impl Errno {
    /// The value a call returns for this errno.
    pub const fn ret(self) -> i32 {
        -self.0
    }

    /// The errno a raw call result carries, if it is one (`-256 < ret < 0`).
    pub fn from_ret(ret: i32) -> Option<Errno> {
        (ret < 0 && ret > -crate::consts::MAX_ERRNO).then_some(Errno(-ret))
    }

    /// The errno an I/O error carries, EIO when it has none.
    pub fn from_io(err: &std::io::Error) -> Errno {
        Errno(err.raw_os_error().unwrap_or(Errno::EIO.0))
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
        assert_eq!(Errno(200).to_string(), "errno 200");
    }
}
