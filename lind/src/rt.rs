//! [`LindRt`]: [`ThreeI`] over Lind's glibc and grate-rs.

use crate::{argv, ffi, slots};
use boundary::consts::GRATE_ERR;
use boundary::registration::Registration;
use boundary::{
    Args, CageId, ChildMain, ChildSetup, CopyKind, Errno, ThreadBody, ThreadJoin, ThreeI,
};
use grate_rs::GrateError;
use std::sync::Arc;

/// Exit status of a started child whose parent could not prepare it.
const LAUNCH_ABORTED: i32 = 126;
/// Exit status of a started child whose exec failed, as shells report it.
const EXEC_FAILED: i32 = 127;

/// The cage this module runs in, as 3i sees it.
///
/// Stateless: the cage id and memory base are glibc's cached values, own
/// memory is this module's heap, and handler slots and the running program
/// are statics. So one value serves `main`, forked children and every
/// handler worker.
pub struct LindRt {
    _private: (),
}

/// The one [`LindRt`].
pub(crate) static RT: LindRt = LindRt { _private: () };

impl LindRt {
    /// The runtime of this cage.
    pub fn get() -> &'static LindRt {
        &RT
    }
}

impl std::fmt::Debug for LindRt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LindRt").finish_non_exhaustive()
    }
}

/// The raw i32 of a `make_threei_call`. grate-rs reports every negative
/// result as an error, including `-errno`, ELIND codes and high `mmap`
/// addresses; the raw value is what callers must see (docs/lind-3i.md §2.4).
pub(crate) fn raw_result(result: Result<i32, GrateError>) -> i32 {
    match result {
        Ok(ret) | Err(GrateError::MakeSyscallError(ret)) => ret,
        Err(_) => GRATE_ERR,
    }
}

impl ThreeI for LindRt {
    fn cage_id(&self) -> CageId {
        CageId(ffi::own_cage_id())
    }

    fn make_call(&self, nr: u32, self_cage: CageId, target: CageId, args: &Args) -> i32 {
        let [a1, a2, a3, a4, a5, a6] = *args;
        raw_result(grate_rs::make_threei_call(
            nr,
            0,
            self_cage.0,
            target.0,
            a1.value,
            a1.cage,
            a2.value,
            a2.cage,
            a3.value,
            a3.cage,
            a4.value,
            a4.cage,
            a5.value,
            a5.cage,
            a6.value,
            a6.cage,
            0,
        ))
    }

    fn alloc(&self, len: usize) -> u64 {
        ffi::alloc_zeroed(len)
    }

    fn free(&self, addr: u64, _len: usize) {
        ffi::free(addr);
    }

    fn read_own(&self, addr: u64, out: &mut [u8]) {
        ffi::read_own(addr, out);
    }

    fn write_own(&self, addr: u64, data: &[u8]) {
        ffi::write_own(addr, data);
    }

    fn own_addr(&self, ptr: *const u8) -> Option<u64> {
        // A grate's Rust heap and stack are its linear memory: a pointer's
        // value is its guest address.
        Some(ptr as usize as u64)
    }

    fn host_addr(&self, addr: u64) -> u64 {
        ffi::memory_base().wrapping_add(addr)
    }

    fn detach(&self) -> Arc<dyn ThreeI> {
        Arc::new(LindRt { _private: () })
    }

    /// A slot trampoline's function-table index; 0 once all
    /// [`crate::SLOT_COUNT`] slots serve other keys (grate-rs's dispatcher
    /// refuses 0). [`ThreeI::register_handler`] reports that case instead.
    fn handler_ptr(&self, key: u64) -> u64 {
        slots::handler_ptr(key).unwrap_or(0)
    }

    fn register_handler(&self, target: CageId, nr: u32, key: u64) -> Result<(), Errno> {
        let fn_ptr = slots::handler_ptr(key).ok_or(Errno::ENOMEM)?;
        self.register_raw(&Registration {
            target,
            nr,
            grate: self.cage_id(),
            fn_ptr,
        })
    }

    /// 3i copies straight into `out`: no scratch allocation.
    fn read_foreign(&self, addr: u64, cage: CageId, out: &mut [u8]) -> Result<(), Errno> {
        if out.is_empty() {
            return Ok(());
        }
        let me = self.cage_id();
        let len = out.len() as u64;
        ffi::with_guest_addr_mut(out, |dst| {
            self.copy_data((addr, cage), (dst, me), len, CopyKind::Raw)
        })
    }

    /// 3i copies straight from `data`: no scratch allocation.
    fn write_foreign(&self, addr: u64, cage: CageId, data: &[u8]) -> Result<(), Errno> {
        if data.is_empty() {
            return Ok(());
        }
        let me = self.cage_id();
        let len = data.len() as u64;
        ffi::with_guest_addr(data, |src| {
            self.copy_data((src, me), (addr, cage), len, CopyKind::Raw)
        })
    }

    fn fork(&self, child: ChildMain) -> Result<CageId, Errno> {
        match ffi::fork()? {
            0 => {
                let status = child(self);
                self.exit(status)
            }
            id => Ok(CageId(id)),
        }
    }

    /// grate-rs's launch pattern: a MAP_SHARED semaphore, fork, the child
    /// waits; the parent runs `setup` (registrations on the child), then
    /// posts. If `setup` fails the child exits with 126 without exec; if the
    /// exec fails it exits with 127. Returns once the child may exec: it
    /// does not wait for the exec (a failure shows in the exit status).
    fn spawn_child(&self, argv: &[String], setup: ChildSetup<'_>) -> Result<CageId, Errno> {
        let cargv = argv::exec_cstrings(argv)?;
        let launch = ffi::Launch::new()?;
        match ffi::fork()? {
            0 => match launch.wait_in_child() {
                Ok(true) => {
                    let err = ffi::execv(&cargv);
                    boundary::Guest::new(self).report_exec_failure(&argv[0], err);
                    ffi::exit(EXEC_FAILED)
                }
                _ => ffi::exit(LAUNCH_ABORTED),
            },
            id => {
                let child = CageId(id);
                if let Err(err) = setup(child) {
                    launch.abort();
                    return Err(err);
                }
                launch.go()?;
                Ok(child)
            }
        }
    }

    fn exec(&self, argv: &[String]) -> Errno {
        match argv::exec_cstrings(argv) {
            Ok(cargv) => ffi::execv(&cargv),
            Err(err) => err,
        }
    }

    fn exit(&self, status: i32) -> ! {
        ffi::exit(status)
    }

    /// glibc's `pthread_create` (a CLONE with CLONE_VM on Lind), called
    /// directly: see [`ffi::spawn_thread`].
    fn spawn_thread(&self, body: ThreadBody) -> Result<ThreadJoin, Errno> {
        ffi::spawn_thread(Box::new(move || body(&RT))).map(ThreadJoin)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::ffi::double::{set_ret, take_calls};
    use boundary::consts::{
        ELINDAPIABORTED, ELINDESRCH, GRATE_MEMORY_FLAG, UNUSED_ARG, UNUSED_CAGE,
    };
    use boundary::{args_of, nr, Arg};

    #[test]
    fn raw_result_passes_negative_values_through() {
        assert_eq!(raw_result(Ok(7)), 7);
        assert_eq!(raw_result(Err(GrateError::MakeSyscallError(-2))), -2);
        let high_mmap = 0x8000_1000_u32 as i32;
        assert_eq!(
            raw_result(Err(GrateError::MakeSyscallError(high_mmap))),
            high_mmap
        );
        assert_eq!(raw_result(Err(GrateError::CopyDataError(-1))), GRATE_ERR);
    }

    #[test]
    fn make_call_sends_pairs_unchanged_with_translate_errno_off() {
        let me = RT.cage_id();
        let mut args = args_of(me, &[4, 5]);
        args[1] = Arg::own_ptr(0x1000, me);
        set_ret(-9);
        assert_eq!(RT.make_call(nr::READ, me, CageId(3), &args), -9);
        let calls = take_calls();
        assert_eq!(calls.len(), 1);
        let call = &calls[0];
        assert_eq!((call.nr, call.self_cage, call.target), (nr::READ, me.0, 3));
        assert_eq!(call.translate_errno, 0);
        assert_eq!(call.args[0], (4, me.0));
        assert_eq!(call.args[1], (0x1000, me.0 | GRATE_MEMORY_FLAG));
        assert_eq!(call.args[5], (UNUSED_ARG, me.0));
    }

    #[test]
    fn register_handler_issues_1001_through_own_table_with_a_slot_pointer() {
        let me = RT.cage_id();
        set_ret(0);
        assert_eq!(RT.register_handler(CageId(3), nr::OPEN, 0x55), Ok(()));
        let calls = take_calls();
        let call = &calls[0];
        assert_eq!((call.nr, call.self_cage, call.target), (1001, me.0, me.0));
        assert_eq!(call.args[0], (3, u64::from(nr::OPEN)));
        assert_eq!(call.args[1], (UNUSED_ARG, me.0));
        assert_eq!(call.args[2], (RT.handler_ptr(0x55), UNUSED_CAGE));
        assert_ne!(call.args[2].0, 0);

        set_ret(ELINDESRCH);
        assert_eq!(
            RT.register_handler(CageId(3), nr::OPEN, 0x55),
            Err(Errno::ESRCH)
        );
    }

    #[test]
    fn read_foreign_copies_straight_into_the_buffer() {
        let me = RT.cage_id();
        let foreign = [1u8, 2, 3, 4];
        let foreign_addr = foreign.as_ptr() as u64;
        let mut out = [0u8; 4];
        let out_addr = out.as_ptr() as u64;
        set_ret(0x1234);
        assert_eq!(RT.read_foreign(foreign_addr, CageId(99), &mut out), Ok(()));
        assert_eq!(out, foreign);
        let calls = take_calls();
        assert_eq!(calls.len(), 1, "no scratch buffer, one 1002");
        let call = &calls[0];
        assert_eq!((call.nr, call.self_cage, call.target), (1002, me.0, me.0));
        assert_eq!(call.args[0], (foreign_addr, 99));
        assert_eq!(call.args[1], (out_addr, me.0 | GRATE_MEMORY_FLAG));
        assert_eq!((call.args[2].0, call.args[3].0), (4, 0));
    }

    #[test]
    fn copy_failure_is_caught_from_the_raw_result() {
        let mut out = [7u8; 4];
        set_ret(ELINDAPIABORTED);
        assert_eq!(
            RT.read_foreign(0x10, CageId(99), &mut out),
            Err(Errno::EFAULT)
        );
        assert_eq!(out, [7; 4]);
        assert_eq!(
            RT.write_foreign(0x10, CageId(99), b"ab"),
            Err(Errno::EFAULT)
        );
        take_calls();
    }

    #[test]
    fn copy_success_may_look_negative() {
        // 3i returns the destination address's low 32 bits on success.
        let mut out = [0u8; 2];
        let src = [5u8, 6];
        set_ret(-5000);
        assert_eq!(
            RT.read_foreign(src.as_ptr() as u64, CageId(99), &mut out),
            Ok(())
        );
        assert_eq!(out, src);
        take_calls();
    }

    #[test]
    fn write_foreign_copies_straight_from_the_data() {
        let me = RT.cage_id();
        let mut foreign = [0u8; 3];
        let foreign_addr = foreign.as_mut_ptr() as u64;
        let data = *b"xyz";
        set_ret(0);
        assert_eq!(RT.write_foreign(foreign_addr, CageId(99), &data), Ok(()));
        assert_eq!(&foreign, b"xyz");
        let call = &take_calls()[0];
        assert_eq!(
            call.args[0],
            (data.as_ptr() as u64, me.0 | GRATE_MEMORY_FLAG)
        );
        assert_eq!(call.args[1], (foreign_addr, 99));
    }

    #[test]
    fn empty_foreign_copies_make_no_call() {
        assert_eq!(RT.read_foreign(0x10, CageId(99), &mut []), Ok(()));
        assert_eq!(RT.write_foreign(0x10, CageId(99), &[]), Ok(()));
        assert!(take_calls().is_empty());
    }

    #[test]
    fn copy_handler_table_is_routed_through_the_source() {
        set_ret(0);
        assert_eq!(RT.copy_handler_table(CageId(2), CageId(5)), Ok(()));
        let call = &take_calls()[0];
        assert_eq!((call.nr, call.self_cage, call.target), (1003, 2, 2));
        assert_eq!(call.args[0], (2, 5));
    }

    #[test]
    fn host_addr_adds_the_memory_base() {
        assert_eq!(RT.host_addr(0x40), ffi::memory_base() + 0x40);
    }

    #[test]
    fn own_memory_through_the_trait() {
        let addr = RT.alloc(3);
        RT.write_own(addr, b"hi!");
        let mut out = [0u8; 3];
        RT.read_own(addr, &mut out);
        assert_eq!(&out, b"hi!");
        RT.free(addr, 3);
    }

    #[test]
    fn spawned_thread_runs_with_the_runtime() {
        let (tx, rx) = std::sync::mpsc::channel();
        let join = RT
            .spawn_thread(Box::new(move |rt| tx.send(rt.cage_id()).unwrap()))
            .unwrap();
        join.join();
        assert_eq!(rx.recv().unwrap(), RT.cage_id());
    }
}
