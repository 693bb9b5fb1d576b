//! The runtime: cages, handler tables, the stop switch, and `run`.

use crate::cage::{lock, Cage, ExitStatus};
use crate::config::{RunError, RunOutcome, RuntimeConfig, Stdio};
use crate::kernel::fdtable::{KernelFdTable, OpenFile};
use crate::memory::Memory;
use crate::process::{self, Start};
use crate::table::{HandlerTables, Route};
use crate::unwind::{unwind, Unwind};
use boundary::consts::{INIT_CAGEID, MAX_CAGEID, RAWPOSIX_CAGEID, THREEI_CAGEID};
use boundary::{nr, CageId, Program, ProgramEntry};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How often blocking waits look at the stop switch.
pub(crate) const POLL: Duration = Duration::from_millis(20);

#[derive(Default)]
struct RunState {
    live: usize,
    stop: Option<String>,
    init_status: Option<ExitStatus>,
    ran: bool,
}

/// State shared by every cage thread of one run.
pub(crate) struct Inner {
    pub root: PathBuf,
    programs: Vec<ProgramEntry>,
    pub stdio: Stdio,
    pub tables: HandlerTables,
    cages: RwLock<HashMap<u64, Arc<Cage>>>,
    /// Lind's EXITING_TABLE plus is_dead: set once, never cleared.
    exiting: Vec<AtomicBool>,
    last_cage: AtomicU64,
    state: Mutex<RunState>,
    state_cv: Condvar,
    stopped: AtomicBool,
    pub started: Instant,
    pub stdout: Arc<Mutex<Vec<u8>>>,
    pub stderr: Arc<Mutex<Vec<u8>>>,
}

impl Inner {
    pub(crate) fn program(&self, name: &str) -> Option<Arc<dyn Program>> {
        self.programs
            .iter()
            .find(|p| p.name == name)
            .map(|p| (p.make)())
    }

    pub(crate) fn cage(&self, id: u64) -> Option<Arc<Cage>> {
        self.cages
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    /// A cage the runtime must know, or a stop: Lind unwraps `get_cage`.
    pub(crate) fn known_cage(&self, id: u64, why: &str) -> Arc<Cage> {
        self.cage(id)
            .unwrap_or_else(|| self.stop(format!("unknown cage {id} ({why})")))
    }

    pub(crate) fn add_cage(&self, cage: Arc<Cage>) {
        lock(&self.state).live += 1;
        self.cages
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cage.id, cage);
    }

    /// Takes a finalized cage out of the map and counts it gone.
    pub(crate) fn remove_cage(&self, id: u64, status: ExitStatus) {
        self.cages
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        let mut state = lock(&self.state);
        state.live = state.live.saturating_sub(1);
        if id == INIT_CAGEID {
            state.init_status = Some(status);
        }
        self.state_cv.notify_all();
    }

    /// The next cage id; ids are never reused, and running out panics
    /// Lind's fork (`alloc_cage_id().unwrap()`, ids below MAX_CAGEID).
    pub(crate) fn alloc_cage_id(&self) -> u64 {
        let next = self
            .last_cage
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                (v + 1 < MAX_CAGEID).then_some(v + 1)
            });
        match next {
            Ok(last) => last + 1,
            Err(_) => self.stop(format!("cage ids exhausted (no id below {MAX_CAGEID})")),
        }
    }

    /// Whether `id` is dead or exiting (never cleared once set).
    pub(crate) fn is_exiting(&self, id: u64) -> bool {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.exiting.get(i))
            .is_some_and(|f| f.load(Ordering::Acquire))
    }

    pub(crate) fn set_exiting(&self, id: u64) {
        if let Some(flag) = usize::try_from(id).ok().and_then(|i| self.exiting.get(i)) {
            flag.store(true, Ordering::Release);
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Stops the run where Lind would panic, and ends the calling thread.
    pub(crate) fn stop(&self, reason: String) -> ! {
        {
            let mut state = lock(&self.state);
            state.stop.get_or_insert(reason);
            self.stopped.store(true, Ordering::Release);
            self.state_cv.notify_all();
        }
        unwind(Unwind::Stop)
    }

    /// Ends the calling thread if the run was stopped.
    pub(crate) fn check_stop(&self) {
        if self.is_stopped() {
            unwind(Unwind::Stop);
        }
    }
}

/// An in-process 3i runtime for one run.
pub struct Runtime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

/// What the first cage's table routes to the kernel: every number
/// RawPOSIX's table holds (the ABI table's list). Numbers outside it have
/// no entry, so issuing them stops the run as Lind panics
/// (docs/lind-3i.md §4.3).
pub const KERNEL_NUMBERS: &[u32] = abi::catalog::RAWPOSIX_CALLS;

impl Runtime {
    /// A runtime over `config`.
    pub fn new(config: RuntimeConfig) -> Runtime {
        crate::unwind::install_panic_hook();
        let inner = Inner {
            root: config.root,
            programs: config.programs,
            stdio: config.stdio,
            tables: HandlerTables::default(),
            cages: RwLock::new(HashMap::new()),
            exiting: (0..=MAX_CAGEID).map(|_| AtomicBool::new(false)).collect(),
            last_cage: AtomicU64::new(0),
            state: Mutex::new(RunState::default()),
            state_cv: Condvar::new(),
            stopped: AtomicBool::new(false),
            started: Instant::now(),
            stdout: Arc::default(),
            stderr: Arc::default(),
        };
        Runtime {
            inner: Arc::new(inner),
        }
    }

    /// Runs `argv[0]` in cage 1 and waits until every cage has exited, as
    /// lind-boot does; or until the run is stopped, returning at once then
    /// (threads blocked elsewhere are left behind).
    pub fn run(&self, argv: &[String]) -> Result<RunOutcome, RunError> {
        let inner = &self.inner;
        {
            let mut state = lock(&inner.state);
            if std::mem::replace(&mut state.ran, true) {
                return Err(RunError::AlreadyRan);
            }
        }
        let name = argv.first().ok_or(RunError::EmptyArgv)?;
        let program = inner
            .program(name)
            .ok_or_else(|| RunError::NoSuchProgram(name.clone()))?;
        let id = inner.alloc_cage_id();
        let fds = KernelFdTable::with_stdio(self.stdio_files());
        let cage = Arc::new(Cage::new(id, id, Memory::new(), fds, "/".into()));
        for &n in KERNEL_NUMBERS {
            let route = Route {
                dest: RAWPOSIX_CAGEID,
                fn_ptr: u64::from(n),
            };
            inner.tables.register(id, u64::from(n), route);
        }
        for n in [
            nr::REGISTER_HANDLER,
            nr::COPY_DATA_BETWEEN_CAGES,
            nr::COPY_HANDLER_TABLE_TO_CAGE,
        ] {
            let route = Route {
                dest: THREEI_CAGEID,
                fn_ptr: u64::from(n),
            };
            inner.tables.register(id, u64::from(n), route);
        }
        inner.add_cage(cage.clone());
        process::spawn_cage(inner, cage, Start::Program(program, argv.to_vec()));

        let mut state = lock(&inner.state);
        while state.live > 0 && state.stop.is_none() {
            state = inner
                .state_cv
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        if let Some(reason) = &state.stop {
            return Err(RunError::Stopped(reason.clone()));
        }
        Ok(RunOutcome {
            status: state.init_status.map_or(0, ExitStatus::code),
            stdout: lock(&inner.stdout).clone(),
            stderr: lock(&inner.stderr).clone(),
        })
    }

    fn stdio_files(&self) -> [OpenFile; 3] {
        match self.inner.stdio {
            Stdio::Inherit => [
                OpenFile::host_stdin(),
                OpenFile::host_stdout(),
                OpenFile::host_stderr(),
            ],
            Stdio::Capture => [
                OpenFile::empty_input(),
                OpenFile::capture(self.inner.stdout.clone()),
                OpenFile::capture(self.inner.stderr.clone()),
            ],
        }
    }

    /// `cage`'s handler table: number -> (destination, fn_ptr), live
    /// entries only; `None` when the cage has no table. Dead cages keep
    /// theirs, as on Lind.
    pub fn handler_table(&self, cage: CageId) -> Option<BTreeMap<u64, (u64, u64)>> {
        self.inner.tables.snapshot(cage.0).map(|t| {
            t.into_iter()
                .map(|(n, r)| (n, (r.dest, r.fn_ptr)))
                .collect()
        })
    }

    /// Cages not yet finalized, ascending.
    pub fn live_cages(&self) -> Vec<CageId> {
        let mut ids: Vec<CageId> = self
            .inner
            .cages
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .map(|&id| CageId(id))
            .collect();
        ids.sort();
        ids
    }

    /// A live cage's open fds, ascending.
    pub fn open_fds(&self, cage: CageId) -> Option<Vec<i32>> {
        self.inner.cage(cage.0).map(|c| lock(&c.fds).open_fds())
    }

    /// The highest cage id handed out so far.
    pub fn last_cage_id(&self) -> CageId {
        CageId(self.inner.last_cage.load(Ordering::Relaxed))
    }

    /// Why the run was stopped, if it was.
    pub fn stop_reason(&self) -> Option<String> {
        lock(&self.inner.state).stop.clone()
    }
}
