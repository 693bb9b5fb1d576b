//! Constants shared with Lind's 3i, glibc and RawPOSIX (docs/lind-3i.md §2, §4, §7.3).

/// Set on an argcage to say "this value is a guest pointer in my own memory";
/// the caller's libc adds its memory base and clears the bit (docs/lind-3i.md §4.1).
pub const GRATE_MEMORY_FLAG: u64 = 1 << 63;

pub use abi::limits::UNUSED_ARG;

/// Argcage glibc leaves in unused 3i-call cage slots (NOTUSED with bit 63 cleared).
pub const UNUSED_CAGE: u64 = 0x5ead_beef_dead_beef;

/// Returned by the trampoline when a grate call fails (trap, panic, missing export).
pub const GRATE_ERR: i32 = -0x1FFF_0003;

/// 3i's "operation aborted" code, as an i32 (0xE0010001).
pub const ELINDAPIABORTED: i32 = 0xE001_0001_u32 as i32;

/// 3i's "cage is exiting" code, as an i32 (0xE0010002).
pub const ELINDESRCH: i32 = 0xE001_0002_u32 as i32;

/// Pseudo cage id of RawPOSIX, the kernel below every stack.
pub const RAWPOSIX_CAGEID: u64 = 777_777;
/// Pseudo cage id of the Wasmtime re-entry stubs.
pub const WASMTIME_CAGEID: u64 = 888_888;
/// Pseudo cage id of 3i itself (calls 1001 to 1003).
pub const THREEI_CAGEID: u64 = 999_999;
/// Handler-cage value that deregisters `(target, nr)` in a 1001 call.
pub const THREEI_DEREGISTER: u64 = 500;

/// The first cage: the program lind-boot starts.
pub const INIT_CAGEID: u64 = 1;
pub use abi::limits::MAX_CAGEID;

/// The largest file offset or size a Lind cage can name: its glibc has the
/// i386 32-bit `off_t` for lseek, pread, pwrite and ftruncate, and every 3i
/// result is an i32.
pub const MAX_FILE_OFFSET: u64 = i32::MAX as u64;

/// glibc treats results in (-MAX_ERRNO, 0) as errno values.
pub const MAX_ERRNO: i32 = 256;

pub use abi::stat::STAT_SIZE;
/// Size of one translated iovec: `{u64 host_base, u64 len}`.
pub const IOVEC_SIZE: usize = 16;
/// Size of `clone_args`: 11 u64 fields.
pub const CLONE_ARGS_SIZE: usize = 88;

/// `clone_args.flags` bit that makes a clone a thread rather than a fork.
pub const CLONE_VM: u64 = 0x100;
/// `clone_args.flags` bit grate-rs tests to tell threads from forks.
pub const CLONE_THREAD: u64 = 0x10000;

/// Linux open flags as Lind uses them (not WASI's values; docs/lind-3i.md §15).
pub mod open_flags {
    pub use abi::flags::open::*;
    pub use abi::flags::O_ACCMODE;
}

/// `fcntl` commands.
pub mod fcntl_cmd {
    pub use abi::flags::fcntl::*;
    pub use abi::flags::FD_CLOEXEC;
}

pub use abi::flags::AT_FDCWD;
/// `unlinkat` flag that removes a directory.
pub const AT_REMOVEDIR: i32 = 0x200;
