//! What the bundled grates know of calls, read from the ABI catalog (the
//! one table of calls): names, how strace-grate shows each argument, and
//! the broad list of file, fd and process calls the forwarding grates
//! register. No call number is written here.

use abi::catalog::{self, ArgKind, Len, SyscallInfo};
use boundary::nr;

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

impl ArgShape {
    /// How an argument of this kind is shown; `None` for an unused slot.
    pub fn of(kind: ArgKind) -> Option<ArgShape> {
        Some(match kind {
            ArgKind::Unused => return None,
            ArgKind::Int
            | ArgKind::Fd
            | ArgKind::DirFd
            | ArgKind::Flags
            | ArgKind::Pid
            | ArgKind::Signal => ArgShape::Int,
            ArgKind::Size | ArgKind::Offset => ArgShape::Long,
            ArgKind::Mode => ArgShape::Mode,
            ArgKind::In(Len::CStr) => ArgShape::Path,
            _ => ArgShape::Ptr,
        })
    }
}

/// The catalog's row for `nr`, if Lind has the call.
pub fn info(nr: u32) -> Option<&'static SyscallInfo> {
    catalog::lookup(nr)
}

/// How each argument `nr` takes is shown, in order.
pub fn shapes(info: &SyscallInfo) -> impl Iterator<Item = ArgShape> + '_ {
    info.args.iter().filter_map(|k| ArgShape::of(*k))
}

/// The name of `nr`, or `syscall_N`.
pub fn name(nr: u32) -> String {
    match info(nr) {
        Some(row) => row.name.to_string(),
        None => format!("syscall_{nr}"),
    }
}

/// The number of a syscall name (the catalog's aliases accepted).
pub fn by_name(name: &str) -> Option<u32> {
    catalog::by_name(name).map(|row| row.nr)
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
    nr::LSTAT,
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
    nr::FDATASYNC,
    nr::TRUNCATE,
    nr::FTRUNCATE,
    nr::GETDENTS,
    nr::GETCWD,
    nr::CHDIR,
    nr::FCHDIR,
    nr::RENAME,
    nr::MKDIR,
    nr::RMDIR,
    nr::CREAT,
    nr::UNLINK,
    nr::READLINK,
    nr::CHMOD,
    nr::FCHMOD,
    nr::GETPPID,
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
    fn names_and_shapes_come_from_the_catalog() {
        assert_eq!(name(nr::OPENAT), "openat");
        assert_eq!(name(4242), "syscall_4242");
        assert_eq!(by_name("pwrite"), Some(nr::PWRITE));
        assert_eq!(by_name("fstat"), Some(nr::FSTAT));
        assert_eq!(by_name("nope"), None);
        let open: Vec<ArgShape> = shapes(info(nr::OPEN).unwrap()).collect();
        assert_eq!(open, [ArgShape::Path, ArgShape::Int, ArgShape::Mode]);
        let lseek: Vec<ArgShape> = shapes(info(nr::LSEEK).unwrap()).collect();
        assert_eq!(lseek, [ArgShape::Int, ArgShape::Long, ArgShape::Int]);
    }

    #[test]
    fn forwarded_list_is_known_and_leaves_lifecycle_to_the_kit() {
        assert!(FILE_FD_PROC.iter().all(|&n| info(n).is_some()));
        assert!(!FILE_FD_PROC.contains(&nr::CLONE));
        assert!(!FILE_FD_PROC.contains(&nr::EXIT_GROUP));
    }
}
