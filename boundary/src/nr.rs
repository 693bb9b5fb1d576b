//! Syscall numbers the engines act on by name (Linux x86_64 numbering, as Lind
//! uses it; docs/lind-3i.md §9.1). The full table with argument kinds is the formats
//! crate's catalog; these are the few whose meaning the engines depend on.

pub const READ: u32 = 0;
pub const WRITE: u32 = 1;
pub const OPEN: u32 = 2;
pub const CLOSE: u32 = 3;
pub const STAT: u32 = 4;
pub const FSTAT: u32 = 5;
pub const LSEEK: u32 = 8;
pub const MMAP: u32 = 9;
pub const PREAD: u32 = 17;
pub const PWRITE: u32 = 18;
pub const READV: u32 = 19;
pub const WRITEV: u32 = 20;
pub const PREADV: u32 = 295;
pub const PWRITEV: u32 = 296;
pub const ACCESS: u32 = 21;
pub const PIPE: u32 = 22;
pub const DUP: u32 = 32;
pub const DUP2: u32 = 33;
pub const GETPID: u32 = 39;
pub const SOCKET: u32 = 41;
pub const ACCEPT: u32 = 43;
pub const SOCKETPAIR: u32 = 53;
/// Used by glibc for fork, posix_spawn and pthread_create alike.
pub const CLONE: u32 = 56;
/// Defined but never issued by glibc and absent from RawPOSIX.
pub const FORK: u32 = 57;
pub const EXECVE: u32 = 59;
/// Thread exit only; process exit is [`EXIT_GROUP`].
pub const EXIT: u32 = 60;
pub const WAIT4: u32 = 61;
pub const KILL: u32 = 62;
pub const FCNTL: u32 = 72;
pub const FSYNC: u32 = 74;
pub const TRUNCATE: u32 = 76;
pub const FTRUNCATE: u32 = 77;
pub const GETDENTS: u32 = 78;
pub const GETCWD: u32 = 79;
pub const CHDIR: u32 = 80;
pub const RENAME: u32 = 82;
pub const MKDIR: u32 = 83;
pub const RMDIR: u32 = 84;
pub const CREAT: u32 = 85;
pub const UNLINK: u32 = 87;
pub const READLINK: u32 = 89;
pub const CHMOD: u32 = 90;
pub const GETDENTS64: u32 = 217;
pub const CLOCK_GETTIME: u32 = 228;
/// Process exit.
pub const EXIT_GROUP: u32 = 231;
pub const OPENAT: u32 = 257;
pub const UNLINKAT: u32 = 263;
pub const NEWFSTATAT: u32 = 262;
pub const DUP3: u32 = 292;
pub const PIPE2: u32 = 293;
pub const ACCEPT4: u32 = 288;

/// 3i: register (or deregister) a handler.
pub const REGISTER_HANDLER: u32 = 1001;
/// 3i: copy bytes between two cages' memories.
pub const COPY_DATA_BETWEEN_CAGES: u32 = 1002;
/// 3i: replace a cage's handler table with a copy of another's.
pub const COPY_HANDLER_TABLE_TO_CAGE: u32 = 1003;

/// First private call number this workspace uses for its own channels
/// (hold cages, replay drivers). Far from Lind's and the example grates'
/// alternate numbers (2000, 3000 and up).
pub const PRIVATE_BASE: u32 = 0x7E00_0000;
