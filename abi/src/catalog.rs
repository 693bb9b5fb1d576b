//! The syscall catalog: one row per call Lind implements (and per call the
//! bundled grates answer themselves), shared by the tee, the recorder, the
//! replayer, `tee-log dump`, the host runtime and the bundled grates.
//!
//! A row says, for each of the six arguments, what it is and, for buffers,
//! how long it is and which way its bytes flow. The recorder copies exactly
//! what a row names; the replayer rebuilds exactly that. A NULL pointer
//! argument has no buffer, whatever its row says.
//!
//! Numbers are Linux x86_64's, which Lind uses as its own (docs/lind-3i.md §9.1);
//! positions are 0-based. Where a layout was not checked against Lind's
//! sources the row says `Ptr` (not followed) rather than guess a size: a
//! wrong fixed size would make the replayer overwrite app memory.

mod rows;

pub use rows::CATALOG;

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
    /// The slot carries nothing (glibc fills it with `UNUSED_ARG`).
    Unused,
    /// A plain integer.
    Int,
    /// A file descriptor.
    Fd,
    /// A directory fd of an `*at` call (AT_FDCWD allowed).
    DirFd,
    /// A bit set of flags.
    Flags,
    /// A permission mode.
    Mode,
    /// A byte count or element count.
    Size,
    /// A file offset.
    Offset,
    /// A process (cage) id.
    Pid,
    /// A signal number.
    Signal,
    /// An input buffer.
    In(Len),
    /// An output buffer of capacity `cap`.
    Out {
        /// How large the buffer is.
        cap: Len,
        /// How much of it the call fills.
        filled: Filled,
    },
    /// A buffer read and then written by the call.
    InOut {
        /// How large the buffer is.
        cap: Len,
        /// How much of it the call fills.
        filled: Filled,
    },
    /// An iovec array whose bases are inputs; `count` is the iovcnt arg.
    IovIn {
        /// Position of the iovcnt argument.
        count: u8,
    },
    /// An iovec array whose bases are outputs, filled in order up to the result.
    IovOut {
        /// Position of the iovcnt argument.
        count: u8,
    },
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
    /// The fd table is untouched.
    None,
    /// The result is a new fd.
    ResultFd,
    /// The result is a new fd duplicating the fd at this argument.
    DupOf(u8),
    /// dup2/dup3: the fd at the second position becomes a copy of the first.
    DupTo {
        /// Position of the source fd.
        from: u8,
        /// Position of the target fd.
        to: u8,
    },
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
    /// Files, directories and fd operations.
    Fs,
    /// Sockets and readiness (poll, select, epoll).
    Net,
    /// Processes, threads and identities.
    Proc,
    /// Memory mappings and shared memory.
    Mem,
    /// Signals.
    Signal,
    /// Clocks, sleeps and timers.
    Time,
    /// 1001 to 1003.
    ThreeI,
    /// Anything else.
    Misc,
}

impl CallClass {
    /// Every class, in the order a legend lists them.
    pub const ALL: [CallClass; 8] = [
        CallClass::Fs,
        CallClass::Net,
        CallClass::Proc,
        CallClass::Mem,
        CallClass::Signal,
        CallClass::Time,
        CallClass::ThreeI,
        CallClass::Misc,
    ];

    /// The class's name in filters and pictures (`fs`, `net`, ...).
    pub fn name(self) -> &'static str {
        match self {
            CallClass::Fs => "fs",
            CallClass::Net => "net",
            CallClass::Proc => "proc",
            CallClass::Mem => "mem",
            CallClass::Signal => "signal",
            CallClass::Time => "time",
            CallClass::ThreeI => "3i",
            CallClass::Misc => "misc",
        }
    }
}

/// One syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallInfo {
    /// The syscall number.
    pub nr: u32,
    /// The Linux name (aliases resolve through [`by_name`]).
    pub name: &'static str,
    /// What each of the six arguments is.
    pub args: [ArgKind; 6],
    /// What the result means.
    pub ret: RetKind,
    /// The family, for filters.
    pub class: CallClass,
    /// The effect on the caller's fd table.
    pub fd_effect: FdEffect,
    /// The call changes an open file's bytes or offset, so two such calls
    /// on one fd give a different file in a different order: the tee
    /// records and duplicates them in the order they took effect (SPEC.md,
    /// "Order"). Calls that can wait on another call on the same fd (a
    /// read waiting for data) are never marked, so this cannot stall one.
    pub ordered: bool,
}

impl SyscallInfo {
    /// How many leading arguments the call uses (the rest are `Unused`).
    pub fn arg_count(&self) -> usize {
        self.args
            .iter()
            .rposition(|k| *k != ArgKind::Unused)
            .map_or(0, |i| i + 1)
    }

    const fn fx(self, fd_effect: FdEffect) -> SyscallInfo {
        SyscallInfo { fd_effect, ..self }
    }

    const fn ordered(self) -> SyscallInfo {
        SyscallInfo {
            ordered: true,
            ..self
        }
    }
}

impl ArgKind {
    /// True for arguments whose value is an address (buffers and pointers):
    /// those values differ between runs and say nothing about behaviour.
    pub fn is_address(&self) -> bool {
        matches!(
            self,
            ArgKind::In(_)
                | ArgKind::Out { .. }
                | ArgKind::InOut { .. }
                | ArgKind::IovIn { .. }
                | ArgKind::IovOut { .. }
                | ArgKind::StrArray
                | ArgKind::GuestAddr
                | ArgKind::Ptr
        )
    }
}

/// The row for `nr`, if Lind implements it.
pub fn lookup(nr: u32) -> Option<&'static SyscallInfo> {
    CATALOG
        .binary_search_by_key(&nr, |row| row.nr)
        .ok()
        .and_then(|i| CATALOG.get(i))
}

/// The row named `name`: its Linux name or a Lind alias (`waitpid`, `exec`,
/// `sigaction`, `pread`, ...).
pub fn by_name(name: &str) -> Option<&'static SyscallInfo> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, real)| real);
    CATALOG.iter().find(|row| row.name == name)
}

/// The number of the call the catalog names `name` (its Linux name, no
/// alias), at compile time: a name with no row stops the build, so a
/// number defined this way cannot drift from the catalog.
pub const fn nr_of(name: &str) -> u32 {
    let mut i = 0;
    while i < CATALOG.len() {
        if same_str(CATALOG[i].name, name) {
            return CATALOG[i].nr;
        }
        i += 1;
    }
    panic!("no catalog row has that name")
}

const fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Every number RawPOSIX's `SYSCALL_TABLE` holds (LW
/// `src/rawposix/src/syscall_table.rs` at dd4cc929a): what a cage's table
/// routes to the kernel when no grate registered the call. A number
/// outside it has no entry, and issuing it panics Lind (docs/lind-3i.md
/// §4.3). A test holds the catalog to this list.
pub const RAWPOSIX_CALLS: &[u32] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 29, 30,
    31, 32, 33, 35, 38, 39, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 59, 60,
    61, 62, 67, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 86, 87, 88, 89, 90, 91, 92, 94,
    102, 104, 107, 108, 110, 121, 130, 133, 137, 138, 170, 202, 213, 228, 231, 232, 233, 257, 260,
    262, 263, 264, 266, 267, 268, 269, 271, 277, 280, 288, 291, 292, 293, 295, 296, 302, 316, 318,
    326,
];

/// Names Lind's sources and grates use for calls Linux names otherwise.
const ALIASES: &[(&str, &str)] = &[
    ("sigaction", "rt_sigaction"),
    ("sigprocmask", "rt_sigprocmask"),
    ("pread", "pread64"),
    ("pwrite", "pwrite64"),
    ("waitpid", "wait4"),
    ("exec", "execve"),
    ("fstatat", "newfstatat"),
    ("xstat", "stat"),
    ("fxstat", "fstat"),
];

/// Which calls a `--calls` option selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFilter {
    all: bool,
    classes: Vec<CallClass>,
    nrs: Vec<u32>,
}

/// Why a `--calls` filter was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterError {
    /// Two commas with nothing between, or one at an end.
    EmptyItem {
        /// The whole filter, as given.
        spec: String,
    },
    /// A word that is neither a class, a call's name nor a number.
    Unknown {
        /// The word.
        item: String,
    },
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilterError::EmptyItem { spec } => write!(f, "empty item in call filter {spec:?}"),
            FilterError::Unknown { item } => write!(f, "unknown syscall or class {item:?}"),
        }
    }
}

impl std::error::Error for FilterError {}

impl CallFilter {
    /// A filter that selects every call.
    pub fn all() -> CallFilter {
        CallFilter {
            all: true,
            classes: Vec::new(),
            nrs: Vec::new(),
        }
    }

    /// Parses a comma-separated list of class names (`fs`, `net`, `proc`,
    /// `mem`, `signal`, `time`, `3i`, `misc`, `all`), syscall names and
    /// syscall numbers.
    pub fn parse(spec: &str) -> Result<CallFilter, FilterError> {
        let mut filter = CallFilter {
            all: false,
            classes: Vec::new(),
            nrs: Vec::new(),
        };
        for item in spec.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(FilterError::EmptyItem {
                    spec: spec.to_string(),
                });
            }
            let class = match item {
                "all" => {
                    filter.all = true;
                    continue;
                }
                "file" => Some(CallClass::Fs),
                "network" => Some(CallClass::Net),
                "process" => Some(CallClass::Proc),
                "memory" => Some(CallClass::Mem),
                "threei" => Some(CallClass::ThreeI),
                _ => CallClass::ALL.into_iter().find(|c| c.name() == item),
            };
            if let Some(class) = class {
                filter.classes.push(class);
            } else if let Some(row) = by_name(item) {
                filter.nrs.push(row.nr);
            } else if let Ok(nr) = item.parse::<u32>() {
                filter.nrs.push(nr);
            } else {
                return Err(FilterError::Unknown {
                    item: item.to_string(),
                });
            }
        }
        Ok(filter)
    }

    /// True if the filter selects call `nr`.
    pub fn matches(&self, nr: u32) -> bool {
        self.all
            || self.nrs.contains(&nr)
            || lookup(nr).is_some_and(|row| self.classes.contains(&row.class))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_scalar(kind: ArgKind) -> bool {
        matches!(kind, ArgKind::Int | ArgKind::Size)
    }

    fn slot(row: &SyscallInfo, i: u8) -> ArgKind {
        row.args
            .get(usize::from(i))
            .copied()
            .unwrap_or(ArgKind::Unused)
    }

    #[test]
    fn numbers_are_sorted_and_unique() {
        for pair in CATALOG.windows(2) {
            assert!(
                pair[0].nr < pair[1].nr,
                "{} then {}",
                pair[0].nr,
                pair[1].nr
            );
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, row) in CATALOG.iter().enumerate() {
            assert!(
                CATALOG[i + 1..].iter().all(|other| other.name != row.name),
                "{} twice",
                row.name
            );
        }
    }

    #[test]
    fn length_positions_point_at_scalars() {
        for row in CATALOG {
            for kind in row.args {
                let len = match kind {
                    ArgKind::In(len)
                    | ArgKind::Out { cap: len, .. }
                    | ArgKind::InOut { cap: len, .. } => len,
                    _ => continue,
                };
                if let Len::Arg(i) = len {
                    assert!(is_scalar(slot(row, i)), "{}: length at {i}", row.name);
                }
            }
        }
    }

    #[test]
    fn iovec_counts_point_at_scalars() {
        for row in CATALOG {
            for kind in row.args {
                if let ArgKind::IovIn { count } | ArgKind::IovOut { count } = kind {
                    assert!(
                        is_scalar(slot(row, count)),
                        "{}: count at {count}",
                        row.name
                    );
                }
            }
        }
    }

    #[test]
    fn fd_effects_point_at_fds_or_outputs() {
        let fd = |row: &SyscallInfo, i: u8| matches!(slot(row, i), ArgKind::Fd);
        for row in CATALOG {
            let ok = match row.fd_effect {
                FdEffect::None | FdEffect::ResultFd => true,
                FdEffect::DupOf(i) | FdEffect::Close(i) => fd(row, i),
                FdEffect::DupTo { from, to } => fd(row, from) && fd(row, to),
                FdEffect::Fcntl => fd(row, 0),
                FdEffect::PairOut(i) => matches!(slot(row, i), ArgKind::Out { .. }),
            };
            assert!(ok, "{}: {:?}", row.name, row.fd_effect);
        }
    }

    #[test]
    fn cstr_lengths_are_inputs_only() {
        for row in CATALOG {
            for kind in row.args {
                if let ArgKind::Out { cap, .. } | ArgKind::InOut { cap, .. } = kind {
                    assert_ne!(cap, Len::CStr, "{}", row.name);
                }
            }
        }
    }

    /// Rows the catalog keeps that RawPOSIX's table has not, and why.
    const CATALOG_ONLY: &[(u32, &str)] = &[
        (
            34,
            "pause: not in RawPOSIX's table; kept so logs that hold it decode",
        ),
        (
            57,
            "fork: never issued by glibc; kept so old logs still decode",
        ),
        (85, "creat: the bundled imfs and archive grates answer it"),
        (217, "getdents64: the bundled imfs grate answers it"),
        (
            332,
            "statx: glibc defines it, RawPOSIX does not implement it",
        ),
        (1001, "3i register_handler, answered by 3i, not RawPOSIX"),
        (1002, "3i copy_data_between_cages"),
        (1003, "3i copy_handler_table_to_cage"),
    ];

    #[test]
    fn there_is_a_row_for_every_call_rawposix_handles_and_extras_say_why() {
        let missing: Vec<u32> = RAWPOSIX_CALLS
            .iter()
            .copied()
            .filter(|nr| lookup(*nr).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "RawPOSIX handles calls with no row: {missing:?}"
        );
        let extra: Vec<u32> = CATALOG
            .iter()
            .map(|r| r.nr)
            .filter(|nr| !RAWPOSIX_CALLS.contains(nr))
            .filter(|nr| !CATALOG_ONLY.iter().any(|(n, _)| n == nr))
            .collect();
        assert!(
            extra.is_empty(),
            "rows RawPOSIX does not handle, unexplained: {extra:?}"
        );
        for (nr, why) in CATALOG_ONLY {
            assert!(!RAWPOSIX_CALLS.contains(nr), "{nr} is handled now ({why})");
        }
    }

    #[test]
    fn nr_of_finds_a_row_by_its_linux_name() {
        const WRITE: u32 = nr_of("write");
        assert_eq!(WRITE, 1);
        assert_eq!(nr_of("copy_file_range"), 326);
    }

    #[test]
    fn lookup_and_by_name_agree() {
        for row in CATALOG {
            assert_eq!(lookup(row.nr), Some(row));
            assert_eq!(by_name(row.name), Some(row));
        }
        assert_eq!(lookup(15), None);
        assert_eq!(by_name("waitpid").map(|r| r.nr), Some(61));
        assert_eq!(by_name("no_such_call"), None);
    }

    #[test]
    fn filter_parses_classes_names_and_numbers() {
        let f = CallFilter::parse("net,write,60").unwrap();
        assert!(f.matches(41), "socket is net");
        assert!(f.matches(1));
        assert!(f.matches(60));
        assert!(!f.matches(0), "read is neither");
        assert!(!f.matches(9999));
        assert!(CallFilter::parse("all").unwrap().matches(9999));
        assert_eq!(
            CallFilter::parse("fs,bogus").unwrap_err(),
            FilterError::Unknown {
                item: "bogus".into()
            }
        );
        let empty = CallFilter::parse("fs,").unwrap_err();
        assert_eq!(empty, FilterError::EmptyItem { spec: "fs,".into() });
        assert_eq!(empty.to_string(), "empty item in call filter \"fs,\"");
    }
}
