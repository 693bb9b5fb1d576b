//! Errno numbers, names and messages: Linux's, as RawPOSIX returns them
//! (negated), with glibc's `strerror` texts, which strace prints. The table is written once, in [`errno_table!`], and expanded
//! both here (for [`name`] and [`message`]) and by `boundary` (for its
//! `Errno` constants).

/// Expands `$callback! { NAME = number, "message"; ... }` with every
/// errno the project names.
#[macro_export]
macro_rules! errno_table {
    ($callback:ident) => {
        $callback! {
        EPERM = 1, "Operation not permitted";
        ENOENT = 2, "No such file or directory";
        ESRCH = 3, "No such process";
        EINTR = 4, "Interrupted system call";
        EIO = 5, "Input/output error";
        ENXIO = 6, "No such device or address";
        E2BIG = 7, "Argument list too long";
        ENOEXEC = 8, "Exec format error";
        EBADF = 9, "Bad file descriptor";
        ECHILD = 10, "No child processes";
        EAGAIN = 11, "Resource temporarily unavailable";
        ENOMEM = 12, "Cannot allocate memory";
        EACCES = 13, "Permission denied";
        EFAULT = 14, "Bad address";
        ENOTBLK = 15, "Block device required";
        EBUSY = 16, "Device or resource busy";
        EEXIST = 17, "File exists";
        EXDEV = 18, "Cross-device link";
        ENODEV = 19, "No such device";
        ENOTDIR = 20, "Not a directory";
        EISDIR = 21, "Is a directory";
        EINVAL = 22, "Invalid argument";
        ENFILE = 23, "Too many open files in system";
        EMFILE = 24, "Too many open files";
        ENOTTY = 25, "Inappropriate ioctl for device";
        ETXTBSY = 26, "Text file busy";
        EFBIG = 27, "File too large";
        ENOSPC = 28, "No space left on device";
        ESPIPE = 29, "Illegal seek";
        EROFS = 30, "Read-only file system";
        EMLINK = 31, "Too many links";
        EPIPE = 32, "Broken pipe";
        EDOM = 33, "Numerical argument out of domain";
        ERANGE = 34, "Numerical result out of range";
        EDEADLK = 35, "Resource deadlock avoided";
        ENAMETOOLONG = 36, "File name too long";
        ENOLCK = 37, "No locks available";
        ENOSYS = 38, "Function not implemented";
        ENOTEMPTY = 39, "Directory not empty";
        ELOOP = 40, "Too many levels of symbolic links";
        EOVERFLOW = 75, "Value too large for defined data type";
        EBADFD = 77, "File descriptor in bad state";
        ENOTSOCK = 88, "Socket operation on non-socket";
        EDESTADDRREQ = 89, "Destination address required";
        EMSGSIZE = 90, "Message too long";
        EPROTOTYPE = 91, "Protocol wrong type for socket";
        ENOPROTOOPT = 92, "Protocol not available";
        EPROTONOSUPPORT = 93, "Protocol not supported";
        ESOCKTNOSUPPORT = 94, "Socket type not supported";
        EOPNOTSUPP = 95, "Operation not supported";
        EPFNOSUPPORT = 96, "Protocol family not supported";
        EAFNOSUPPORT = 97, "Address family not supported by protocol";
        EADDRINUSE = 98, "Address already in use";
        EADDRNOTAVAIL = 99, "Cannot assign requested address";
        ENETDOWN = 100, "Network is down";
        ENETUNREACH = 101, "Network is unreachable";
        ENETRESET = 102, "Network dropped connection on reset";
        ECONNABORTED = 103, "Software caused connection abort";
        ECONNRESET = 104, "Connection reset by peer";
        ENOBUFS = 105, "No buffer space available";
        EISCONN = 106, "Transport endpoint is already connected";
        ENOTCONN = 107, "Transport endpoint is not connected";
        ESHUTDOWN = 108, "Cannot send after transport endpoint shutdown";
        ETIMEDOUT = 110, "Connection timed out";
        ECONNREFUSED = 111, "Connection refused";
        EHOSTDOWN = 112, "Host is down";
        EHOSTUNREACH = 113, "No route to host";
        EALREADY = 114, "Operation already in progress";
        EINPROGRESS = 115, "Operation now in progress";
            }
    };
}

macro_rules! lookups {
    ($($name:ident = $value:expr, $text:expr;)*) => {
        /// The C name of errno `n`, if the table has it.
        pub const fn name(n: i32) -> Option<&'static str> {
            match n {
                $($value => Some(stringify!($name)),)*
                _ => None,
            }
        }

        /// What errno `n` means, if the table has it.
        pub const fn message(n: i32) -> Option<&'static str> {
            match n {
                $($value => Some($text),)*
                _ => None,
            }
        }
    };
}

errno_table!(lookups);

#[cfg(test)]
mod tests {
    #[test]
    fn names_and_messages_come_from_one_row() {
        assert_eq!(super::name(2), Some("ENOENT"));
        assert_eq!(super::message(2), Some("No such file or directory"));
        assert_eq!(super::name(200), None);
    }
}
