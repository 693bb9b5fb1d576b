//! Syscall numbers the engines act on by name (Linux x86_64 numbering, as Lind
//! uses it; docs/lind-3i.md §9.1). Each is looked up in the ABI table's
//! catalog by name when the crate is built, so none can drift from it; a
//! name with no row stops the build.

use abi::catalog::nr_of;

pub const READ: u32 = nr_of("read");
pub const WRITE: u32 = nr_of("write");
pub const OPEN: u32 = nr_of("open");
pub const CLOSE: u32 = nr_of("close");
pub const STAT: u32 = nr_of("stat");
pub const LSTAT: u32 = nr_of("lstat");
pub const FSTAT: u32 = nr_of("fstat");
pub const LSEEK: u32 = nr_of("lseek");
pub const MMAP: u32 = nr_of("mmap");
pub const PREAD: u32 = nr_of("pread64");
pub const PWRITE: u32 = nr_of("pwrite64");
pub const READV: u32 = nr_of("readv");
pub const WRITEV: u32 = nr_of("writev");
pub const PREADV: u32 = nr_of("preadv");
pub const PWRITEV: u32 = nr_of("pwritev");
pub const ACCESS: u32 = nr_of("access");
pub const PIPE: u32 = nr_of("pipe");
pub const DUP: u32 = nr_of("dup");
pub const DUP2: u32 = nr_of("dup2");
pub const GETPID: u32 = nr_of("getpid");
pub const SOCKET: u32 = nr_of("socket");
pub const ACCEPT: u32 = nr_of("accept");
pub const SOCKETPAIR: u32 = nr_of("socketpair");
/// Used by glibc for fork, posix_spawn and pthread_create alike.
pub const CLONE: u32 = nr_of("clone");
/// Defined but never issued by glibc and absent from RawPOSIX.
pub const FORK: u32 = nr_of("fork");
pub const EXECVE: u32 = nr_of("execve");
/// Thread exit only; process exit is [`EXIT_GROUP`].
pub const EXIT: u32 = nr_of("exit");
pub const WAIT4: u32 = nr_of("wait4");
pub const KILL: u32 = nr_of("kill");
pub const FCNTL: u32 = nr_of("fcntl");
pub const FSYNC: u32 = nr_of("fsync");
pub const TRUNCATE: u32 = nr_of("truncate");
pub const FTRUNCATE: u32 = nr_of("ftruncate");
pub const GETDENTS: u32 = nr_of("getdents");
pub const GETCWD: u32 = nr_of("getcwd");
pub const CHDIR: u32 = nr_of("chdir");
pub const RENAME: u32 = nr_of("rename");
pub const MKDIR: u32 = nr_of("mkdir");
pub const MKNOD: u32 = nr_of("mknod");
pub const FDATASYNC: u32 = nr_of("fdatasync");
pub const FCHDIR: u32 = nr_of("fchdir");
pub const FCHMOD: u32 = nr_of("fchmod");
pub const GETPPID: u32 = nr_of("getppid");
pub const RMDIR: u32 = nr_of("rmdir");
pub const CREAT: u32 = nr_of("creat");
pub const UNLINK: u32 = nr_of("unlink");
pub const READLINK: u32 = nr_of("readlink");
pub const CHMOD: u32 = nr_of("chmod");
pub const GETDENTS64: u32 = nr_of("getdents64");
pub const CLOCK_GETTIME: u32 = nr_of("clock_gettime");
/// Process exit.
pub const EXIT_GROUP: u32 = nr_of("exit_group");
pub const OPENAT: u32 = nr_of("openat");
pub const UNLINKAT: u32 = nr_of("unlinkat");
pub const NEWFSTATAT: u32 = nr_of("newfstatat");
pub const DUP3: u32 = nr_of("dup3");
pub const PIPE2: u32 = nr_of("pipe2");
pub const ACCEPT4: u32 = nr_of("accept4");

/// 3i: register (or deregister) a handler.
pub const REGISTER_HANDLER: u32 = nr_of("register_handler");
/// 3i: copy bytes between two cages' memories.
pub const COPY_DATA_BETWEEN_CAGES: u32 = nr_of("copy_data_between_cages");
/// 3i: replace a cage's handler table with a copy of another's.
pub const COPY_HANDLER_TABLE_TO_CAGE: u32 = nr_of("copy_handler_table_to_cage");

/// First private call number this workspace uses for its own channels
/// (hold cages, replay drivers). Far from Lind's and the example grates'
/// alternate numbers (2000, 3000 and up).
pub const PRIVATE_BASE: u32 = 0x7E00_0000;
