//! Syscall names and argument shapes the bundled grates print and parse
//! (Linux x86_64 numbering, as Lind uses it; docs/lind-3i.md §9.1), plus the broad
//! list of file, fd and process calls the forwarding grates register.
//!
//! Numbers the engines act on come from [`boundary::nr`]; the rest are
//! named here, each once.

use boundary::nr;

pub const LSTAT: u32 = 6;
pub const MUNMAP: u32 = 11;
pub const BRK: u32 = 12;
pub const IOCTL: u32 = 16;
pub const FDATASYNC: u32 = 75;
pub const FCHDIR: u32 = 81;
pub const FCHMOD: u32 = 91;
pub const GETPPID: u32 = 110;
pub const FUTEX: u32 = 202;

/// How a grate shows one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgShape {
    /// A C `int` (fd, count, flag word printed in decimal).
    Int,
    /// A 64-bit scalar (offset, length).
    Long,
    /// A mode, printed in octal.
    Mode,
    /// A NUL-terminated path in the caller's memory.
    Path,
    /// Any other pointer, printed in hex.
    Ptr,
}

use ArgShape::{Int, Long, Mode, Path, Ptr};

/// One known syscall: number, name, and its arguments' shapes.
#[derive(Clone, Copy, Debug)]
pub struct SyscallInfo {
    pub nr: u32,
    pub name: &'static str,
    pub args: &'static [ArgShape],
}

const fn row(nr: u32, name: &'static str, args: &'static [ArgShape]) -> SyscallInfo {
    SyscallInfo { nr, name, args }
}

/// Known syscalls, sorted by number.
pub const KNOWN: &[SyscallInfo] = &[
    row(nr::READ, "read", &[Int, Ptr, Long]),
    row(nr::WRITE, "write", &[Int, Ptr, Long]),
    row(nr::OPEN, "open", &[Path, Int, Mode]),
    row(nr::CLOSE, "close", &[Int]),
    row(nr::STAT, "stat", &[Path, Ptr]),
    row(nr::FSTAT, "fstat", &[Int, Ptr]),
    row(LSTAT, "lstat", &[Path, Ptr]),
    row(nr::LSEEK, "lseek", &[Int, Long, Int]),
    row(nr::MMAP, "mmap", &[Ptr, Long, Int, Int, Int, Long]),
    row(MUNMAP, "munmap", &[Ptr, Long]),
    row(BRK, "brk", &[Ptr]),
    row(IOCTL, "ioctl", &[Int, Long, Ptr]),
    row(nr::PREAD, "pread", &[Int, Ptr, Long, Long]),
    row(nr::PWRITE, "pwrite", &[Int, Ptr, Long, Long]),
    row(nr::READV, "readv", &[Int, Ptr, Int]),
    row(nr::WRITEV, "writev", &[Int, Ptr, Int]),
    row(nr::ACCESS, "access", &[Path, Int]),
    row(nr::PIPE, "pipe", &[Ptr]),
    row(nr::DUP, "dup", &[Int]),
    row(nr::DUP2, "dup2", &[Int, Int]),
    row(nr::GETPID, "getpid", &[]),
    row(nr::CLONE, "clone", &[Ptr, Long]),
    row(nr::EXECVE, "execve", &[Path, Ptr, Ptr]),
    row(nr::EXIT, "exit", &[Int]),
    row(nr::WAIT4, "wait4", &[Int, Ptr, Int]),
    row(nr::KILL, "kill", &[Int, Int]),
    row(nr::FCNTL, "fcntl", &[Int, Int, Long]),
    row(nr::FSYNC, "fsync", &[Int]),
    row(FDATASYNC, "fdatasync", &[Int]),
    row(nr::TRUNCATE, "truncate", &[Path, Long]),
    row(nr::FTRUNCATE, "ftruncate", &[Int, Long]),
    row(nr::GETDENTS, "getdents", &[Int, Ptr, Long]),
    row(nr::GETCWD, "getcwd", &[Ptr, Long]),
    row(nr::CHDIR, "chdir", &[Path]),
    row(FCHDIR, "fchdir", &[Int]),
    row(nr::RENAME, "rename", &[Path, Path]),
    row(nr::MKDIR, "mkdir", &[Path, Mode]),
    row(nr::RMDIR, "rmdir", &[Path]),
    row(nr::CREAT, "creat", &[Path, Mode]),
    row(nr::UNLINK, "unlink", &[Path]),
    row(nr::READLINK, "readlink", &[Path, Ptr, Long]),
    row(nr::CHMOD, "chmod", &[Path, Mode]),
    row(FCHMOD, "fchmod", &[Int, Mode]),
    row(GETPPID, "getppid", &[]),
    row(FUTEX, "futex", &[Ptr, Int, Int, Ptr, Ptr, Int]),
    row(nr::GETDENTS64, "getdents64", &[Int, Ptr, Long]),
    row(nr::EXIT_GROUP, "exit_group", &[Int]),
    row(nr::OPENAT, "openat", &[Int, Path, Int, Mode]),
    row(nr::NEWFSTATAT, "newfstatat", &[Int, Path, Ptr, Int]),
    row(nr::UNLINKAT, "unlinkat", &[Int, Path, Int]),
    row(nr::DUP3, "dup3", &[Int, Int, Int]),
    row(nr::PIPE2, "pipe2", &[Ptr, Int]),
];

/// The row for `nr`, if known.
pub fn info(nr: u32) -> Option<&'static SyscallInfo> {
    KNOWN
        .binary_search_by_key(&nr, |row| row.nr)
        .ok()
        .map(|at| &KNOWN[at])
}

/// The name of `nr`, or `syscall_N`.
pub fn name(nr: u32) -> String {
    match info(nr) {
        Some(row) => row.name.to_string(),
        None => format!("syscall_{nr}"),
    }
}

/// The number of a syscall name (`pread64`/`pwrite64` accepted as aliases).
pub fn by_name(name: &str) -> Option<u32> {
    let name = match name {
        "pread64" => "pread",
        "pwrite64" => "pwrite",
        other => other,
    };
    KNOWN.iter().find(|row| row.name == name).map(|row| row.nr)
}

/// The file, fd and process calls a forwarding grate registers. CLONE and
/// EXIT_GROUP are not listed: the kit registers them on every grate's child.
/// Memory calls (mmap, brk, futex) are left out on purpose: they carry guest
/// addresses, not buffers, and a grate that only forwards gains nothing.
pub const FILE_FD_PROC: &[u32] = &[
    nr::READ,
    nr::WRITE,
    nr::OPEN,
    nr::CLOSE,
    nr::STAT,
    nr::FSTAT,
    LSTAT,
    nr::LSEEK,
    nr::PREAD,
    nr::PWRITE,
    nr::READV,
    nr::WRITEV,
    nr::ACCESS,
    nr::PIPE,
    nr::DUP,
    nr::DUP2,
    nr::GETPID,
    nr::EXECVE,
    nr::EXIT,
    nr::WAIT4,
    nr::KILL,
    nr::FCNTL,
    nr::FSYNC,
    FDATASYNC,
    nr::TRUNCATE,
    nr::FTRUNCATE,
    nr::GETDENTS,
    nr::GETCWD,
    nr::CHDIR,
    FCHDIR,
    nr::RENAME,
    nr::MKDIR,
    nr::RMDIR,
    nr::CREAT,
    nr::UNLINK,
    nr::READLINK,
    nr::CHMOD,
    FCHMOD,
    GETPPID,
    nr::GETDENTS64,
    nr::OPENAT,
    nr::NEWFSTATAT,
    nr::UNLINKAT,
    nr::DUP3,
    nr::PIPE2,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_rows_are_sorted_and_unique() {
        assert!(KNOWN.windows(2).all(|w| w[0].nr < w[1].nr));
        let mut names: Vec<&str> = KNOWN.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KNOWN.len());
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(name(nr::OPENAT), "openat");
        assert_eq!(name(4242), "syscall_4242");
        assert_eq!(by_name("pwrite64"), Some(nr::PWRITE));
        assert_eq!(by_name("fstat"), Some(nr::FSTAT));
        assert_eq!(by_name("nope"), None);
    }

    #[test]
    fn forwarded_list_is_known_and_leaves_lifecycle_to_the_kit() {
        assert!(FILE_FD_PROC.iter().all(|&n| info(n).is_some()));
        assert!(!FILE_FD_PROC.contains(&nr::CLONE));
        assert!(!FILE_FD_PROC.contains(&nr::EXIT_GROUP));
    }
}
