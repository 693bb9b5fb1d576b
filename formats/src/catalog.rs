//! The syscall catalog: one row per call Lind implements, shared by the tee,
//! the recorder, the replayer and `tee-log dump`.
//!
//! A row says, for each of the six arguments, what it is and, for buffers,
//! how long it is and which way its bytes flow. The recorder copies exactly
//! what a row names; the replayer rebuilds exactly that.

/// How many bytes a buffer spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Len {
    /// The value of the argument at this 0-based position.
    Arg(u8),
    /// A fixed Lind struct size (the 104-byte stat, an 8-byte `int[2]`).
    Fixed(u32),
    /// A NUL-terminated string (input only), NUL excluded from the capture.
    CStr,
}

/// How much of an output buffer the call filled, once it succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filled {
    /// As many bytes as the (non-negative) result says (read, getdents).
    Result,
    /// The whole buffer (stat, pipe's two fds).
    Whole,
    /// Up to and excluding the first NUL within the buffer (getcwd).
    CStr,
}

/// What one argument is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    Unused,
    /// A plain integer.
    Int,
    Fd,
    /// A directory fd of an `*at` call (AT_FDCWD allowed).
    DirFd,
    Flags,
    Mode,
    Size,
    Offset,
    Pid,
    Signal,
    /// An input buffer.
    In(Len),
    /// An output buffer of capacity `cap`.
    Out { cap: Len, filled: Filled },
    /// A buffer read and then written by the call.
    InOut { cap: Len, filled: Filled },
    /// An iovec array whose bases are inputs; `count` is the iovcnt arg.
    IovIn { count: u8 },
    /// An iovec array whose bases are outputs, filled in order up to the result.
    IovOut { count: u8 },
    /// A NULL-terminated array of u64 host pointers to strings (argv, envp).
    StrArray,
    /// An untranslated guest address (mmap, brk).
    GuestAddr,
    /// A pointer the catalog does not follow.
    Ptr,
}

/// What a result means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetKind {
    /// 0 or `-errno`.
    Status,
    /// A byte count or `-errno`.
    Count,
    /// A new fd or `-errno`.
    Fd,
    /// A guest address; high addresses look negative (no errno decoding).
    GuestAddr,
    /// A child id for the parent, 0 in the child.
    ChildId,
    /// A plain value (getpid, getuid) or `-errno`.
    Value,
    /// RawPOSIX returns -1 rather than `-errno` on error (getdents).
    MinusOne,
    /// Never returns on success (exec, exit).
    NoReturn,
}

/// What a call does to the caller's fd table, for the tee's fd pairing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdEffect {
    None,
    /// The result is a new fd.
    ResultFd,
    /// The result is a new fd duplicating the fd at this argument.
    DupOf(u8),
    /// dup2/dup3: the fd at the second position becomes a copy of the first.
    DupTo { from: u8, to: u8 },
    /// fcntl: F_DUPFD/F_DUPFD_CLOEXEC dup the fd at arg 0; F_SETFD sets cloexec.
    Fcntl,
    /// Two new fds written as `int[2]` to the output at this argument.
    PairOut(u8),
    /// The fd at this argument is closed.
    Close(u8),
}

/// A family of calls, for `--calls` filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallClass {
    Fs,
    Net,
    Proc,
    Mem,
    Signal,
    Time,
    /// 1001 to 1003.
    ThreeI,
    Misc,
}

/// One syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallInfo {
    pub nr: u32,
    pub name: &'static str,
    pub args: [ArgKind; 6],
    pub ret: RetKind,
    pub class: CallClass,
    pub fd_effect: FdEffect,
}
