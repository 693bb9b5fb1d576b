//! One cage's state: memory, fds, cwd, program, and its life cycle flags.

use crate::kernel::fdtable::KernelFdTable;
use crate::memory::Memory;
use boundary::{wait, Program};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

/// How a cage ended, as RawPOSIX records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The Linux wait status.
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => wait::exited(code),
            ExitStatus::Signaled(sig) => wait::signaled(sig),
        }
    }

    /// The process exit code a shell would show.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code & 0xff,
            ExitStatus::Signaled(sig) => 128 + sig,
        }
    }
}

/// An exec the kernel accepted, for the runner to start.
pub(crate) struct PendingExec {
    pub program: Arc<dyn Program>,
    pub argv: Vec<String>,
}

/// One cage.
pub struct Cage {
    pub id: u64,
    pub parent: u64,
    memory: RwLock<Arc<Memory>>,
    pub(crate) fds: Mutex<KernelFdTable>,
    /// The cwd inside lindfs, always absolute ("/" at boot).
    pub(crate) cwd: RwLock<String>,
    program: RwLock<Option<Arc<dyn Program>>>,
    pub(crate) pending_exec: Mutex<Option<PendingExec>>,
    /// Set by the first exit_group (RawPOSIX's CAS).
    pub(crate) exit_initiated: AtomicBool,
    /// Set at exit_group, trap or kill; the cage's own threads then end.
    pub(crate) dead: AtomicBool,
    status: Mutex<Option<ExitStatus>>,
    pub(crate) zombies: Mutex<VecDeque<(u64, i32)>>,
    pub(crate) zombie_cv: Condvar,
    pub(crate) child_num: AtomicU64,
    /// Calls currently executing in this cage as a grate (grate_inflight).
    pub(crate) inflight: AtomicU64,
    /// Live OS threads of this cage.
    pub(crate) threads: AtomicU64,
    pub(crate) next_tid: AtomicU64,
}

impl std::fmt::Debug for Cage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cage")
            .field("id", &self.id)
            .field("parent", &self.parent)
            .finish_non_exhaustive()
    }
}

pub(crate) use abi::sync::lock;

impl Cage {
    pub(crate) fn new(
        id: u64,
        parent: u64,
        memory: Memory,
        fds: KernelFdTable,
        cwd: String,
    ) -> Cage {
        Cage {
            id,
            parent,
            memory: RwLock::new(Arc::new(memory)),
            fds: Mutex::new(fds),
            cwd: RwLock::new(cwd),
            program: RwLock::new(None),
            pending_exec: Mutex::new(None),
            exit_initiated: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            status: Mutex::new(None),
            zombies: Mutex::new(VecDeque::new()),
            zombie_cv: Condvar::new(),
            child_num: AtomicU64::new(0),
            inflight: AtomicU64::new(0),
            threads: AtomicU64::new(0),
            next_tid: AtomicU64::new(1),
        }
    }

    /// The current memory (exec replaces it).
    pub fn memory(&self) -> Arc<Memory> {
        self.memory
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn reset_memory(&self) {
        *self.memory.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Memory::new());
    }

    pub(crate) fn program(&self) -> Option<Arc<dyn Program>> {
        self.program
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_program(&self, program: Arc<dyn Program>) {
        *self.program.write().unwrap_or_else(|e| e.into_inner()) = Some(program);
    }

    pub(crate) fn cwd(&self) -> String {
        self.cwd.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_cwd(&self, cwd: String) {
        *self.cwd.write().unwrap_or_else(|e| e.into_inner()) = cwd;
    }

    /// Records the exit status unless one is recorded (the first wins).
    pub(crate) fn record_status(&self, status: ExitStatus) {
        lock(&self.status).get_or_insert(status);
    }

    /// The recorded exit status.
    pub fn status(&self) -> Option<ExitStatus> {
        *lock(&self.status)
    }

    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    pub(crate) fn alloc_tid(&self) -> u64 {
        self.next_tid.fetch_add(1, Ordering::Relaxed) + 1
    }
}
