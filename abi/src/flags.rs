//! Flag and command values the project decodes or passes, each set written
//! once: the constants, and the names `tee-log dump` prints them by.
//! Linux x86_64 values, which Lind's glibc uses (docs/lind-3i.md §9.1).

/// One set of named values: constants, and `NAMES` for decoding.
macro_rules! value_set {
    ($(#[$doc:meta])* $set:ident { $($name:ident = $value:expr,)* }) => {
        $(#[$doc])*
        pub mod $set {
            $(#[doc = concat!("`", stringify!($name), "`")] pub const $name: i32 = $value;)*
            /// Every value of the set with its C name, in this order.
            pub const NAMES: &[(i32, &str)] = &[$(($name, stringify!($name)),)*];
        }
    };
}

value_set! {
    /// `open` and `openat` flags. The access mode is the low two bits.
    open {
        O_RDONLY = 0,
        O_WRONLY = 1,
        O_RDWR = 2,
        O_CREAT = 0o100,
        O_EXCL = 0o200,
        O_NOCTTY = 0o400,
        O_TRUNC = 0o1000,
        O_APPEND = 0o2000,
        O_NONBLOCK = 0o4000,
        O_DSYNC = 0o10000,
        O_DIRECTORY = 0o200000,
        O_NOFOLLOW = 0o400000,
        O_CLOEXEC = 0o2000000,
    }
}

/// The dirfd of an `*at` call that means "relative to the cwd".
pub const AT_FDCWD: i32 = -100;

/// The access-mode bits of open flags.
pub const O_ACCMODE: i32 = 3;

value_set! {
    /// `fcntl` commands.
    fcntl {
        F_DUPFD = 0,
        F_GETFD = 1,
        F_SETFD = 2,
        F_GETFL = 3,
        F_SETFL = 4,
        F_DUPFD_CLOEXEC = 1030,
    }
}

/// `F_SETFD`'s close-on-exec bit.
pub const FD_CLOEXEC: i32 = 1;

value_set! {
    /// `lseek` whence.
    whence {
        SEEK_SET = 0,
        SEEK_CUR = 1,
        SEEK_END = 2,
    }
}

value_set! {
    /// `access` and `faccessat` modes (`F_OK` is 0: no bit).
    access {
        R_OK = 4,
        W_OK = 2,
        X_OK = 1,
    }
}

value_set! {
    /// `mmap` and `mprotect` protections (`PROT_NONE` is 0: no bit).
    prot {
        PROT_READ = 1,
        PROT_WRITE = 2,
        PROT_EXEC = 4,
    }
}

value_set! {
    /// `mmap` flags.
    map {
        MAP_SHARED = 0x01,
        MAP_PRIVATE = 0x02,
        MAP_FIXED = 0x10,
        MAP_ANONYMOUS = 0x20,
    }
}

value_set! {
    /// Socket address families.
    family {
        AF_UNIX = 1,
        AF_INET = 2,
        AF_INET6 = 10,
    }
}

value_set! {
    /// Socket types; `SOCK_NONBLOCK` and `SOCK_CLOEXEC` may be or-ed in.
    sock {
        SOCK_STREAM = 1,
        SOCK_DGRAM = 2,
        SOCK_RAW = 3,
        SOCK_NONBLOCK = 0o4000,
        SOCK_CLOEXEC = 0o2000000,
    }
}

value_set! {
    /// `shutdown` directions.
    shut {
        SHUT_RD = 0,
        SHUT_WR = 1,
        SHUT_RDWR = 2,
    }
}

value_set! {
    /// `flock` operations.
    lock {
        LOCK_SH = 1,
        LOCK_EX = 2,
        LOCK_NB = 4,
        LOCK_UN = 8,
    }
}

value_set! {
    /// `wait4` and `waitpid` options.
    wait {
        WNOHANG = 1,
        WUNTRACED = 2,
        WCONTINUED = 8,
    }
}

value_set! {
    /// The fd flags `dup3`, `pipe2` and `epoll_create1` take, in bit order
    /// (`EPOLL_CLOEXEC` is `O_CLOEXEC`).
    fd_flags {
        O_NONBLOCK = 0o4000,
        O_CLOEXEC = 0o2000000,
    }
}

value_set! {
    /// `epoll_create1` flags.
    epoll_flags {
        EPOLL_CLOEXEC = 0o2000000,
    }
}

value_set! {
    /// `epoll_ctl` operations.
    epoll_op {
        EPOLL_CTL_ADD = 1,
        EPOLL_CTL_DEL = 2,
        EPOLL_CTL_MOD = 3,
    }
}

value_set! {
    /// Signal numbers.
    signal {
        SIGHUP = 1,
        SIGINT = 2,
        SIGQUIT = 3,
        SIGILL = 4,
        SIGTRAP = 5,
        SIGABRT = 6,
        SIGBUS = 7,
        SIGFPE = 8,
        SIGKILL = 9,
        SIGUSR1 = 10,
        SIGSEGV = 11,
        SIGUSR2 = 12,
        SIGPIPE = 13,
        SIGALRM = 14,
        SIGTERM = 15,
        SIGCHLD = 17,
        SIGCONT = 18,
        SIGSTOP = 19,
        SIGTSTP = 20,
        SIGTTIN = 21,
        SIGTTOU = 22,
        SIGURG = 23,
        SIGXCPU = 24,
        SIGXFSZ = 25,
        SIGVTALRM = 26,
        SIGPROF = 27,
        SIGWINCH = 28,
        SIGIO = 29,
        SIGPWR = 30,
        SIGSYS = 31,
    }
}

value_set! {
    /// `d_type` of a directory entry.
    dirent_type {
        DT_UNKNOWN = 0,
        DT_FIFO = 1,
        DT_CHR = 2,
        DT_DIR = 4,
        DT_BLK = 6,
        DT_REG = 8,
        DT_LNK = 10,
        DT_SOCK = 12,
    }
}

/// A socket type as strace prints it: the type by name, then its flags
/// (`SOCK_STREAM|SOCK_CLOEXEC`).
pub fn socket_type(value: i32) -> String {
    let flags = sock::SOCK_NONBLOCK | sock::SOCK_CLOEXEC;
    let kind = one_of(value & !flags, &sock::NAMES[..3]);
    match value & flags {
        0 => kind,
        set => format!("{kind}|{}", bits(set, &sock::NAMES[3..], "")),
    }
}

/// Open flags as strace prints them: the access mode, then each set bit
/// by name, then any bits left as hex (`O_WRONLY|O_CREAT|O_TRUNC`).
pub fn open_flags(value: i32) -> String {
    let mode = match value & O_ACCMODE {
        open::O_RDONLY => "O_RDONLY".to_string(),
        open::O_WRONLY => "O_WRONLY".to_string(),
        open::O_RDWR => "O_RDWR".to_string(),
        other => format!("{other:#x}"),
    };
    let mut parts = vec![mode];
    let mut left = value & !O_ACCMODE;
    for &(bit, name) in open::NAMES.iter().filter(|(v, _)| *v > O_ACCMODE) {
        if left & bit == bit {
            parts.push(name.to_string());
            left &= !bit;
        }
    }
    if left != 0 {
        parts.push(format!("{left:#x}"));
    }
    parts.join("|")
}

/// Bits by name, `|`-joined, unknown bits as hex; `zero` when none is set.
pub fn bits(value: i32, names: &[(i32, &str)], zero: &str) -> String {
    if value == 0 {
        return zero.to_string();
    }
    let mut parts = Vec::new();
    let mut left = value;
    for &(bit, name) in names {
        if bit != 0 && left & bit == bit {
            parts.push(name.to_string());
            left &= !bit;
        }
    }
    if left != 0 {
        parts.push(format!("{left:#x}"));
    }
    parts.join("|")
}

/// The name of `value` in `names`, or the number.
pub fn one_of(value: i32, names: &[(i32, &str)]) -> String {
    names
        .iter()
        .find(|(v, _)| *v == value)
        .map_or_else(|| value.to_string(), |(_, n)| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_read_as_strace_prints_them() {
        assert_eq!(open_flags(0o1101), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(open_flags(0), "O_RDONLY");
        assert_eq!(open_flags(0o2000002), "O_RDWR|O_CLOEXEC");
        assert_eq!(open_flags(0x4000_0001), "O_WRONLY|0x40000000");
    }

    #[test]
    fn sets_decode_by_name_and_keep_unknown_values_raw() {
        assert_eq!(bits(6, access::NAMES, "F_OK"), "R_OK|W_OK");
        assert_eq!(bits(0, access::NAMES, "F_OK"), "F_OK");
        assert_eq!(bits(0x11, access::NAMES, "F_OK"), "X_OK|0x10");
        assert_eq!(one_of(2, whence::NAMES), "SEEK_END");
        assert_eq!(one_of(9, whence::NAMES), "9");
        assert_eq!(one_of(1030, fcntl::NAMES), "F_DUPFD_CLOEXEC");
        assert_eq!(bits(3, prot::NAMES, "PROT_NONE"), "PROT_READ|PROT_WRITE");
        assert_eq!(bits(0x22, map::NAMES, "0"), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(socket_type(0o2000001), "SOCK_STREAM|SOCK_CLOEXEC");
        assert_eq!(socket_type(9), "9");
        assert_eq!(one_of(1, family::NAMES), "AF_UNIX");
    }
}
