//! One cage's view of 3i: the [`ThreeI`] the runtime hands to a program's
//! `main` (and its threads) and to a grate's `handle`.

use crate::cage::Cage;
use crate::dispatch::dispatch;
use crate::memory::{host_addr, split_host};
use crate::process;
use crate::runtime::{Inner, POLL};
use crate::table::Lookup;
use crate::unwind::{current_tid, push_slot, unwind, Pending, Started, Unwind};
use boundary::consts::{CLONE_THREAD, CLONE_VM, GRATE_MEMORY_FLAG, THREEI_CAGEID};
use boundary::guest::Guest;
use boundary::{nr, Args, CageId, ChildMain, ChildSetup, Errno, ThreadBody, ThreadJoin, ThreeI};
use std::sync::{Arc, Condvar, Mutex};

/// A cage as its code sees 3i.
pub(crate) struct CageView {
    inner: Arc<Inner>,
    cage: Arc<Cage>,
    /// The cage's own thread (main or spawned), not a grate worker: such a
    /// thread ends at its next call once its cage is dead.
    own_thread: bool,
}

impl CageView {
    pub(crate) fn own(inner: Arc<Inner>, cage: Arc<Cage>) -> CageView {
        CageView {
            inner,
            cage,
            own_thread: true,
        }
    }

    pub(crate) fn handler(inner: Arc<Inner>, cage: Arc<Cage>) -> CageView {
        CageView {
            inner,
            cage,
            own_thread: false,
        }
    }

    fn me(&self) -> u64 {
        self.cage.id
    }

    /// Whether this cage's copy_data (1002) entry is 3i's own.
    fn copies_go_to_threei(&self) -> bool {
        matches!(
            self.inner.tables.lookup(self.me(), u64::from(nr::COPY_DATA_BETWEEN_CAGES)),
            Lookup::Found(route) if route.dest == THREEI_CAGEID
        )
    }

    /// One copy between `cage`'s memory at host address `addr` and a Rust
    /// buffer, refused as 3i refuses it (same cage, bad range, dead cage).
    fn direct_copy(
        &self,
        addr: u64,
        cage: CageId,
        copy: impl FnOnce(&crate::memory::Memory, u64) -> bool,
        len: usize,
    ) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        let (owner, offset) = split_host(addr);
        if cage.0 == self.me() || owner != cage.0 || len as u64 > u64::from(u32::MAX) {
            return Err(Errno::EFAULT);
        }
        let memory = self.inner.cage(cage.0).ok_or(Errno::EFAULT)?.memory();
        if memory.in_bounds(offset, len) && copy(&memory, offset) {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }

    /// A result as a fork or thread-start error.
    fn errno_of(ret: i32) -> Errno {
        Errno::from_ret(ret).unwrap_or(Errno::EINVAL)
    }
}

/// Maps a raw fork result to the fork's Result.
fn fork_result(ret: i32) -> Result<CageId, Errno> {
    if ret < 0 {
        Err(CageView::errno_of(ret))
    } else {
        Ok(CageId(ret as u64))
    }
}

impl ThreeI for CageView {
    fn cage_id(&self) -> CageId {
        CageId(self.me())
    }

    fn make_call(&self, nr: u32, self_cage: CageId, target: CageId, args: &Args) -> i32 {
        if self.own_thread && self.cage.is_dead() && nr != nr::EXIT && nr != nr::EXIT_GROUP {
            // Lind's epoch kill ends the other threads of a dead cage.
            unwind(Unwind::Killed);
        }
        // glibc's translation (docs/lind-3i.md §4.1): an own guest pointer becomes
        // a host address; bit 63 is cleared on every argcage.
        let mut translated: Args = *args;
        for arg in &mut translated {
            if arg.cage == self.me() | GRATE_MEMORY_FLAG && arg.value != 0 {
                arg.value = host_addr(self.me(), arg.value);
            }
            arg.cage &= !GRATE_MEMORY_FLAG;
        }
        // The host import puts the caller's tid in arg2 of CLONE, EXIT and
        // EXIT_GROUP issued by a cage on itself (§7.4).
        if matches!(nr, nr::CLONE | nr::EXIT | nr::EXIT_GROUP) && self_cage == target {
            translated[1].value = current_tid();
        }
        dispatch(&self.inner, nr, self_cage.0, target.0, &translated)
    }

    fn alloc(&self, len: usize) -> u64 {
        match self.cage.memory().alloc(len) {
            Some(addr) => addr,
            None => panic!("cage {} is out of memory", self.me()),
        }
    }

    fn free(&self, addr: u64, len: usize) {
        self.cage.memory().free(addr, len);
    }

    fn read_own(&self, addr: u64, out: &mut [u8]) {
        // An own out-of-bounds access traps the cage, as in wasm.
        if !self.cage.memory().read(addr, out) {
            panic!("cage {}: out-of-bounds read at {addr:#x}", self.me());
        }
    }

    fn write_own(&self, addr: u64, data: &[u8]) {
        if !self.cage.memory().write(addr, data) {
            panic!("cage {}: out-of-bounds write at {addr:#x}", self.me());
        }
    }

    fn host_addr(&self, addr: u64) -> u64 {
        host_addr(self.me(), addr)
    }

    // Foreign reads and writes: when this cage's 1002 entry still goes to
    // 3i, copy straight between the two memories with 3i's checks (what the
    // Lind adapter does into a Rust buffer); an interposed 1002 takes the
    // ordinary path through the interposer.
    fn read_foreign(&self, addr: u64, cage: CageId, out: &mut [u8]) -> Result<(), Errno> {
        if !self.copies_go_to_threei() {
            return ThreeI::read_foreign_via_copy_data(self, addr, cage, out);
        }
        let len = out.len();
        self.direct_copy(addr, cage, |memory, offset| memory.read(offset, out), len)
    }

    fn write_foreign(&self, addr: u64, cage: CageId, data: &[u8]) -> Result<(), Errno> {
        if !self.copies_go_to_threei() {
            return ThreeI::write_foreign_via_copy_data(self, addr, cage, data);
        }
        self.direct_copy(
            addr,
            cage,
            |memory, offset| memory.write(offset, data),
            data.len(),
        )
    }

    fn detach(&self) -> Arc<dyn ThreeI> {
        Arc::new(CageView {
            inner: self.inner.clone(),
            cage: self.cage.clone(),
            own_thread: self.own_thread,
        })
    }

    fn fork(&self, child: ChildMain) -> Result<CageId, Errno> {
        let slot = push_slot(self.me(), Pending::Fork(Some(child)));
        let ret = Guest::new(self).clone_call(0, current_tid());
        // The child starts only now, after the whole handler chain returned.
        if let Some(Started::Child(cage, body)) = slot.finish() {
            process::spawn_cage(&self.inner, cage, process::Start::Fork(body));
        }
        fork_result(ret)
    }

    fn spawn_child(&self, argv: &[String], setup: ChildSetup<'_>) -> Result<CageId, Errno> {
        // grate-rs's fork, register, post-semaphore, exec: the child waits on
        // a host-side latch. If setup fails the child exits 127 without
        // exec; if exec fails the child exits 127 and this still returns Ok
        // (the caller learns it from waitpid).
        let latch = Arc::new(Latch::default());
        // If setup traps, the guard still lets the child go (to exit 127).
        let release = ReleaseOnDrop(latch.clone());
        let (child_latch, argv) = (latch.clone(), argv.to_vec());
        let inner = self.inner.clone();
        let child = self.fork(Box::new(move |rt: &dyn ThreeI| {
            if !child_latch.wait(&inner) {
                return 127;
            }
            let err = rt.exec(&argv);
            Guest::new(rt).report_exec_failure(&argv[0], err);
            127
        }))?;
        let result = setup(child);
        latch.release(result.is_ok());
        drop(release);
        result.map(|()| child)
    }

    fn exec(&self, argv: &[String]) -> Errno {
        let ret = Guest::new(self).execve_call(argv);
        // Unwind only if the kernel really accepted an exec: a grate may
        // answer 0 without forwarding, and then execve just returns 0.
        if ret == 0 && crate::cage::lock(&self.cage.pending_exec).is_some() {
            unwind(Unwind::Exec);
        }
        Errno::from_ret(ret).unwrap_or(Errno::EINVAL)
    }

    fn exit(&self, status: i32) -> ! {
        let g = Guest::new(self);
        g.call(nr::EXIT_GROUP, &[g.int(status), g.scalar(current_tid())]);
        unwind(Unwind::Exit)
    }

    fn spawn_thread(&self, body: ThreadBody) -> Result<ThreadJoin, Errno> {
        let slot = push_slot(self.me(), Pending::Thread(Some(body)));
        let ret = Guest::new(self).clone_call(CLONE_VM | CLONE_THREAD, current_tid());
        match slot.finish() {
            Some(Started::Thread(tid, body)) => Ok(process::spawn_thread(
                &self.inner,
                self.cage.clone(),
                tid,
                body,
            )),
            _ if ret < 0 => Err(Self::errno_of(ret)),
            _ => Err(Errno::EAGAIN),
        }
    }
}

/// The semaphore spawn_child's child waits on.
#[derive(Default)]
struct Latch {
    go: Mutex<Option<bool>>,
    cv: Condvar,
}

/// Releases a latch (as "do not go") unless it was released already.
struct ReleaseOnDrop(Arc<Latch>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release(false);
    }
}

impl Latch {
    /// Sets the verdict once; later releases change nothing.
    fn release(&self, go: bool) {
        crate::cage::lock(&self.go).get_or_insert(go);
        self.cv.notify_all();
    }

    /// Waits for the release; false when told not to go or the run stops.
    fn wait(&self, inner: &Inner) -> bool {
        let mut go = crate::cage::lock(&self.go);
        loop {
            if let Some(go) = *go {
                return go;
            }
            if inner.is_stopped() {
                return false;
            }
            go = self
                .cv
                .wait_timeout(go, POLL)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}
