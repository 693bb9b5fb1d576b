//! The rows of [`CATALOG`]: one per call Lind implements, sorted by
//! number, with a short comment on each unusual one.

use super::{ArgKind, CallClass, FdEffect, Filled, Len, RetKind, SyscallInfo};

use ArgKind::{DirFd, Flags, Int, Mode, Offset, Pid, Signal, Size, StrArray, Unused as U};
use CallClass::{Fs, Mem, Misc, Net, Proc, ThreeI, Time};
use RetKind::{ChildId, Count, MinusOne, NoReturn, Status, Value};

const FD: ArgKind = ArgKind::Fd;
const PTR: ArgKind = ArgKind::Ptr;
const GADDR: ArgKind = ArgKind::GuestAddr;
const PATH: ArgKind = ArgKind::In(Len::CStr);
/// RawPOSIX's `StatData`: 104 bytes, not Linux's 144 (docs/lind-3i.md §9.3).
const STAT_OUT: ArgKind = fixed_out(104);
/// RawPOSIX's `FSData`: ten u64 and 32 spare bytes.
const STATFS_OUT: ArgKind = fixed_out(112);
/// `int[2]` for pipe, pipe2 and socketpair.
const PAIR_OUT: ArgKind = fixed_out(8);
/// A `socklen_t` read and rewritten by the call.
const SOCKLEN: ArgKind = ArgKind::InOut {
    cap: Len::Fixed(4),
    filled: Filled::Whole,
};
/// `struct timespec` / `struct timeval`: two i64 in Lind.
const TIME_IN: ArgKind = ArgKind::In(Len::Fixed(16));
const TIME_OUT: ArgKind = fixed_out(16);
/// A sigset: one u64 in Lind.
const SIGSET_IN: ArgKind = ArgKind::In(Len::Fixed(8));
const SIGSET_OUT: ArgKind = fixed_out(8);
/// RawPOSIX's `SigactionStruct { u32, u64, i32 }`, 24 bytes with padding.
const SIGACTION_IN: ArgKind = ArgKind::In(Len::Fixed(24));
const SIGACTION_OUT: ArgKind = fixed_out(24);
/// `fd_set`: 1024 bits, read and rewritten by select.
const FDSET: ArgKind = ArgKind::InOut {
    cap: Len::Fixed(128),
    filled: Filled::Whole,
};
/// A `loff_t *` offset the call reads and advances (NULL: the fd's own).
const OFFSET_INOUT: ArgKind = ArgKind::InOut {
    cap: Len::Fixed(8),
    filled: Filled::Whole,
};
const IOV_IN: ArgKind = ArgKind::IovIn { count: 2 };
const IOV_OUT: ArgKind = ArgKind::IovOut { count: 2 };

const fn fixed_out(size: u32) -> ArgKind {
    ArgKind::Out {
        cap: Len::Fixed(size),
        filled: Filled::Whole,
    }
}

const fn buf_in(len_arg: u8) -> ArgKind {
    ArgKind::In(Len::Arg(len_arg))
}

const fn buf_out(len_arg: u8) -> ArgKind {
    ArgKind::Out {
        cap: Len::Arg(len_arg),
        filled: Filled::Result,
    }
}

const fn str_out(len_arg: u8) -> ArgKind {
    ArgKind::Out {
        cap: Len::Arg(len_arg),
        filled: Filled::CStr,
    }
}

const fn sys(
    nr: u32,
    name: &'static str,
    args: [ArgKind; 6],
    ret: RetKind,
    class: CallClass,
) -> SyscallInfo {
    SyscallInfo {
        nr,
        name,
        args,
        ret,
        class,
        fd_effect: FdEffect::None,
        ordered: false,
    }
}

const RFD: RetKind = RetKind::Fd;
const NEW_FD: FdEffect = FdEffect::ResultFd;

/// Every call Lind implements, sorted by number.
#[rustfmt::skip]
pub const CATALOG: &[SyscallInfo] = &[
    sys(0, "read", [FD, buf_out(2), Size, U, U, U], Count, Fs),
    sys(1, "write", [FD, buf_in(2), Size, U, U, U], Count, Fs).ordered(),
    sys(2, "open", [PATH, Flags, Mode, U, U, U], RFD, Fs).fx(NEW_FD),
    sys(3, "close", [FD, U, U, U, U, U], Status, Fs).fx(FdEffect::Close(0)),
    sys(4, "stat", [PATH, STAT_OUT, U, U, U, U], Status, Fs),
    sys(5, "fstat", [FD, STAT_OUT, U, U, U, U], Status, Fs),
    sys(6, "lstat", [PATH, STAT_OUT, U, U, U, U], Status, Fs),
    // pollfd array of nfds * 8 bytes: a count times a size, which Len cannot say.
    sys(7, "poll", [PTR, Size, Int, U, U, U], Count, Net),
    sys(8, "lseek", [FD, Offset, Int, U, U, U], Value, Fs).ordered(),
    // addr is an untranslated guest address and so is the result (docs/lind-3i.md §9.2).
    sys(9, "mmap", [GADDR, Size, Int, Flags, FD, Offset], RetKind::GuestAddr, Mem),
    sys(10, "mprotect", [PTR, Size, Int, U, U, U], Status, Mem),
    sys(11, "munmap", [PTR, Size, U, U, U, U], Status, Mem),
    // brk takes and returns a guest address.
    sys(12, "brk", [GADDR, U, U, U, U, U], RetKind::GuestAddr, Mem),
    sys(13, "rt_sigaction", [Signal, SIGACTION_IN, SIGACTION_OUT, U, U, U], Status, CallClass::Signal),
    sys(14, "rt_sigprocmask", [Int, SIGSET_IN, SIGSET_OUT, U, U, U], Status, CallClass::Signal),
    // The third argument is an int* for the requests Lind supports; not followed.
    sys(16, "ioctl", [FD, Int, PTR, U, U, U], Status, Fs),
    sys(17, "pread64", [FD, buf_out(2), Size, Offset, U, U], Count, Fs),
    sys(18, "pwrite64", [FD, buf_in(2), Size, Offset, U, U], Count, Fs).ordered(),
    // iovecs are {u64 host base, u64 len}, 16 bytes each (docs/lind-3i.md §9.3).
    sys(19, "readv", [FD, IOV_OUT, Int, U, U, U], Count, Fs),
    sys(20, "writev", [FD, IOV_IN, Int, U, U, U], Count, Fs).ordered(),
    sys(21, "access", [PATH, Mode, U, U, U, U], Status, Fs),
    sys(22, "pipe", [PAIR_OUT, U, U, U, U, U], Status, Fs).fx(FdEffect::PairOut(0)),
    sys(23, "select", [Int, FDSET, FDSET, FDSET, TIME_IN, U], Count, Net),
    sys(24, "sched_yield", [U, U, U, U, U, U], Status, Proc),
    sys(29, "shmget", [Int, Size, Flags, U, U, U], Value, Mem),
    // Returns an address, so no errno decoding; the addr argument's
    // translation was not checked (docs/lind-3i.md §9.2).
    sys(30, "shmat", [Int, PTR, Flags, U, U, U], RetKind::GuestAddr, Mem),
    sys(31, "shmctl", [Int, Int, PTR, U, U, U], Status, Mem),
    sys(32, "dup", [FD, U, U, U, U, U], RFD, Fs).fx(FdEffect::DupOf(0)),
    sys(33, "dup2", [FD, FD, U, U, U, U], RFD, Fs).fx(FdEffect::DupTo { from: 0, to: 1 }),
    sys(34, "pause", [U, U, U, U, U, U], Status, CallClass::Signal),
    // Lind's nanosleep is the time64 variant.
    sys(35, "nanosleep", [TIME_IN, TIME_OUT, U, U, U, U], Status, Time),
    // itimerval: two timevals, 32 bytes.
    sys(38, "setitimer", [Int, ArgKind::In(Len::Fixed(32)), fixed_out(32), U, U, U], Status, Time),
    sys(39, "getpid", [U, U, U, U, U, U], Value, Proc),
    sys(41, "socket", [Int, Int, Int, U, U, U], RFD, Net).fx(NEW_FD),
    sys(42, "connect", [FD, buf_in(2), Size, U, U, U], Status, Net),
    // The sockaddr's capacity lives in *addrlen, not in an argument.
    sys(43, "accept", [FD, PTR, SOCKLEN, U, U, U], RFD, Net).fx(NEW_FD),
    sys(44, "sendto", [FD, buf_in(2), Size, Flags, buf_in(5), Size], Count, Net),
    sys(45, "recvfrom", [FD, buf_out(2), Size, Flags, PTR, SOCKLEN], Count, Net),
    // msghdr layouts were not checked (docs/lind-3i.md §9.2).
    sys(46, "sendmsg", [FD, PTR, Flags, U, U, U], Count, Net),
    sys(47, "recvmsg", [FD, PTR, Flags, U, U, U], Count, Net),
    sys(48, "shutdown", [FD, Int, U, U, U, U], Status, Net),
    sys(49, "bind", [FD, buf_in(2), Size, U, U, U], Status, Net),
    sys(50, "listen", [FD, Int, U, U, U, U], Status, Net),
    sys(51, "getsockname", [FD, PTR, SOCKLEN, U, U, U], Status, Net),
    sys(52, "getpeername", [FD, PTR, SOCKLEN, U, U, U], Status, Net),
    sys(53, "socketpair", [Int, Int, Int, PAIR_OUT, U, U], Status, Net).fx(FdEffect::PairOut(3)),
    sys(54, "setsockopt", [FD, Int, Int, buf_in(4), Size, U], Status, Net),
    // optval's capacity lives in *optlen.
    sys(55, "getsockopt", [FD, Int, Int, PTR, SOCKLEN, U], Status, Net),
    // Fork and thread creation both: arg 0 is clone_args (11 u64), arg 1 the
    // caller's tid written in by the runtime (docs/lind-3i.md §7.4).
    sys(56, "clone", [ArgKind::In(Len::Fixed(88)), Int, U, U, U, U], ChildId, Proc),
    // Neither issued by glibc nor in RawPOSIX; kept so old logs still decode.
    sys(57, "fork", [U, U, U, U, U, U], ChildId, Proc),
    // argv and envp are NULL-terminated arrays of u64 host pointers.
    sys(59, "execve", [PATH, StrArray, StrArray, U, U, U], NoReturn, Proc),
    // A thread's exit; arg 1 is the tid the runtime writes in.
    sys(60, "exit", [Int, Int, U, U, U, U], NoReturn, Proc),
    // Lind's waitpid(pid, status*, options) under wait4's number.
    sys(61, "wait4", [Pid, fixed_out(4), Flags, U, U, U], Value, Proc),
    sys(62, "kill", [Pid, Signal, U, U, U, U], Status, CallClass::Signal),
    sys(67, "shmdt", [PTR, U, U, U, U, U], Status, Mem),
    sys(72, "fcntl", [FD, Int, Int, U, U, U], Value, Fs).fx(FdEffect::Fcntl),
    sys(73, "flock", [FD, Int, U, U, U, U], Status, Fs),
    sys(74, "fsync", [FD, U, U, U, U, U], Status, Fs),
    sys(75, "fdatasync", [FD, U, U, U, U, U], Status, Fs),
    sys(76, "truncate", [PATH, Offset, U, U, U, U], Status, Fs),
    sys(77, "ftruncate", [FD, Offset, U, U, U, U], Status, Fs).ordered(),
    // RawPOSIX returns -1, not -errno, and fills host linux_dirent64 records.
    sys(78, "getdents", [FD, buf_out(2), Size, U, U, U], MinusOne, Fs),
    sys(79, "getcwd", [str_out(1), Size, U, U, U, U], Status, Fs),
    sys(80, "chdir", [PATH, U, U, U, U, U], Status, Fs),
    sys(81, "fchdir", [FD, U, U, U, U, U], Status, Fs),
    sys(82, "rename", [PATH, PATH, U, U, U, U], Status, Fs),
    sys(83, "mkdir", [PATH, Mode, U, U, U, U], Status, Fs),
    sys(84, "rmdir", [PATH, U, U, U, U, U], Status, Fs),
    // Not in RawPOSIX; the bundled imfs and archive grates answer it.
    sys(85, "creat", [PATH, Mode, U, U, U, U], RFD, Fs).fx(NEW_FD),
    sys(86, "link", [PATH, PATH, U, U, U, U], Status, Fs),
    sys(87, "unlink", [PATH, U, U, U, U, U], Status, Fs),
    sys(88, "symlink", [PATH, PATH, U, U, U, U], Status, Fs),
    sys(89, "readlink", [PATH, buf_out(2), Size, U, U, U], Count, Fs),
    sys(90, "chmod", [PATH, Mode, U, U, U, U], Status, Fs),
    sys(91, "fchmod", [FD, Mode, U, U, U, U], Status, Fs),
    sys(92, "chown", [PATH, Int, Int, U, U, U], Status, Fs),
    sys(94, "lchown", [PATH, Int, Int, U, U, U], Status, Fs),
    sys(102, "getuid", [U, U, U, U, U, U], Value, Proc),
    sys(104, "getgid", [U, U, U, U, U, U], Value, Proc),
    sys(107, "geteuid", [U, U, U, U, U, U], Value, Proc),
    sys(108, "getegid", [U, U, U, U, U, U], Value, Proc),
    sys(110, "getppid", [U, U, U, U, U, U], Value, Proc),
    sys(121, "getpgid", [Pid, U, U, U, U, U], Value, Proc),
    // Lind's sigsuspend takes the old mask's address where Linux takes
    // the sigset size: RawPOSIX swaps the masks in the one call.
    sys(130, "rt_sigsuspend", [SIGSET_IN, SIGSET_OUT, U, U, U, U], Status, CallClass::Signal),
    sys(133, "mknod", [PATH, Mode, Int, U, U, U], Status, Fs),
    sys(137, "statfs", [PATH, STATFS_OUT, U, U, U, U], Status, Fs),
    sys(138, "fstatfs", [FD, STATFS_OUT, U, U, U, U], Status, Fs),
    sys(170, "gethostname", [str_out(1), Size, U, U, U, U], Status, Misc),
    // uaddr is shared memory and arg 3 is a timeout or a count by op: not followed.
    sys(202, "futex", [PTR, Int, Int, PTR, PTR, Int], Value, Proc),
    sys(213, "epoll_create", [Int, U, U, U, U, U], RFD, Net).fx(NEW_FD),
    // Not in RawPOSIX; the bundled imfs grate answers it.
    sys(217, "getdents64", [FD, buf_out(2), Size, U, U, U], MinusOne, Fs),
    sys(228, "clock_gettime", [Int, TIME_OUT, U, U, U, U], Status, Time),
    // A process's exit.
    sys(231, "exit_group", [Int, Int, U, U, U, U], NoReturn, Proc),
    // The events array is maxevents structs whose guest layout was not checked.
    sys(232, "epoll_wait", [FD, PTR, Size, Int, U, U], Count, Net),
    sys(233, "epoll_ctl", [FD, Int, FD, PTR, U, U], Status, Net),
    sys(257, "openat", [DirFd, PATH, Flags, Mode, U, U], RFD, Fs).fx(NEW_FD),
    sys(260, "fchownat", [DirFd, PATH, Int, Int, Flags, U], Status, Fs),
    // lstat goes through here, not through 6 (docs/lind-3i.md §9.1).
    sys(262, "newfstatat", [DirFd, PATH, STAT_OUT, Flags, U, U], Status, Fs),
    sys(263, "unlinkat", [DirFd, PATH, Flags, U, U, U], Status, Fs),
    sys(264, "renameat", [DirFd, PATH, DirFd, PATH, U, U], Status, Fs),
    sys(266, "symlinkat", [PATH, DirFd, PATH, U, U, U], Status, Fs),
    sys(267, "readlinkat", [DirFd, PATH, buf_out(3), Size, U, U], Count, Fs),
    sys(268, "fchmodat", [DirFd, PATH, Mode, U, U, U], Status, Fs),
    sys(269, "faccessat", [DirFd, PATH, Mode, U, U, U], Status, Fs),
    sys(271, "ppoll", [PTR, Size, TIME_IN, SIGSET_IN, Size, U], Count, Net),
    sys(277, "sync_file_range", [FD, Offset, Size, Flags, U, U], Status, Fs),
    // times: two timespecs.
    sys(280, "utimensat", [DirFd, PATH, ArgKind::In(Len::Fixed(32)), Flags, U, U], Status, Fs),
    sys(288, "accept4", [FD, PTR, SOCKLEN, Flags, U, U], RFD, Net).fx(NEW_FD),
    sys(291, "epoll_create1", [Flags, U, U, U, U, U], RFD, Net).fx(NEW_FD),
    sys(292, "dup3", [FD, FD, Flags, U, U, U], RFD, Fs).fx(FdEffect::DupTo { from: 0, to: 1 }),
    sys(293, "pipe2", [PAIR_OUT, Flags, U, U, U, U], Status, Fs).fx(FdEffect::PairOut(0)),
    sys(295, "preadv", [FD, IOV_OUT, Int, Offset, U, U], Count, Fs),
    sys(296, "pwritev", [FD, IOV_IN, Int, Offset, U, U], Count, Fs).ordered(),
    // Lind's Rlimit is two u32, Linux's rlimit64 two u64: not followed.
    sys(302, "prlimit64", [Pid, Int, PTR, PTR, U, U], Status, Proc),
    sys(316, "renameat2", [DirFd, PATH, DirFd, PATH, Flags, U], Status, Fs),
    sys(318, "getrandom", [buf_out(1), Size, Flags, U, U, U], Count, Misc),
    sys(326, "copy_file_range", [FD, OFFSET_INOUT, FD, OFFSET_INOUT, Size, Flags], Count, Fs),
    // Defined by glibc but not in RawPOSIX's table.
    sys(332, "statx", [DirFd, PATH, Flags, Int, PTR, U], Status, Fs),
    // The 3i calls pack their arguments specially (docs/lind-3i.md §3.4, §5, §6):
    // register_handler: arg 0 target cage, arg 0's cage slot the syscall
    // number, arg 1's cage slot the handler grate, arg 2 a function-table
    // index. Cage slots are kept verbatim, so no argument is followed.
    sys(1001, "register_handler", [Int, Int, Int, U, U, U], Status, ThreeI),
    // copy_data_between_cages: src and dest addresses with their owners in the
    // cage slots, len, copytype; returns the dest address truncated to i32.
    sys(1002, "copy_data_between_cages", [PTR, PTR, Size, Int, U, U], RetKind::GuestAddr, ThreeI),
    // copy_handler_table_to_cage: arg 0 the source cage, its cage slot the target.
    sys(1003, "copy_handler_table_to_cage", [Int, U, U, U, U, U], Status, ThreeI),
];
