//! 3i's `make_syscall`: route a call by the *self* cage's table alone
//! (docs/lind-3i.md §1, §4.2, §4.3).

use crate::kernel;
use crate::runtime::Inner;
use crate::table::Lookup;
use crate::threei_calls;
use crate::unwind::{classify, Unwind};
use crate::view::CageView;
use boundary::consts::{GRATE_ERR, RAWPOSIX_CAGEID, THREEI_CAGEID, WASMTIME_CAGEID};
use boundary::{nr, Args, CageId, Errno};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Routes one call whose arguments are already host-translated.
pub(crate) fn dispatch(
    inner: &Arc<Inner>,
    nr: u32,
    self_cage: u64,
    target: u64,
    args: &Args,
) -> i32 {
    inner.check_stop();
    // A dead or exiting target refuses everything but exits, unless a cage
    // calls on itself (its own threads run until they are killed).
    if inner.is_exiting(target) && nr != nr::EXIT && nr != nr::EXIT_GROUP && self_cage != target {
        return Errno::ESRCH.ret();
    }
    let route = match inner.tables.lookup(self_cage, u64::from(nr)) {
        Lookup::Found(route) => route,
        Lookup::NoTable => inner.stop(format!(
            "no handler for syscall {nr} in cage {self_cage}: cage {self_cage} has no handler table"
        )),
        Lookup::NoEntry => inner.stop(format!("no handler for syscall {nr} in cage {self_cage}")),
    };
    match route.dest {
        // Lind calls the registered function pointer; ours names the kernel
        // function by its number, so a copied or alt entry still works.
        RAWPOSIX_CAGEID => kernel::call(inner, route.fn_ptr, target, args),
        THREEI_CAGEID => threei_calls::call(inner, route.fn_ptr, args),
        // Nothing here registers Wasmtime stubs in a cage's table.
        WASMTIME_CAGEID => inner.stop(format!(
            "syscall {nr} in cage {self_cage} routed to the Wasmtime pseudo cage"
        )),
        grate => call_grate(inner, grate, route.fn_ptr, args),
    }
}

/// Runs a grate's handler synchronously on this OS thread, as Lind's
/// trampoline does with a borrowed worker.
fn call_grate(inner: &Arc<Inner>, grate: u64, fn_ptr: u64, args: &Args) -> i32 {
    // A missing or dead destination is -ESRCH (threei.rs make_syscall).
    let Some(cage) = inner.cage(grate) else {
        return Errno::ESRCH.ret();
    };
    cage.inflight.fetch_add(1, Ordering::AcqRel);
    let _inflight = InflightGuard(&cage.inflight);
    if cage.is_dead() {
        return Errno::ESRCH.ret();
    }
    // A cage with no program cannot serve (no pass_fptr_to_wt export).
    let Some(program) = cage.program() else {
        return GRATE_ERR;
    };
    let view = CageView::handler(inner.clone(), cage.clone());
    let result = catch_unwind(AssertUnwindSafe(|| {
        program.handle(&view, fn_ptr, CageId(grate), args)
    }));
    match result {
        Ok(ret) => ret,
        // A stop ends every thread, handler chains included.
        Err(payload) if classify(&*payload) == Some(Unwind::Stop) => resume_unwind(payload),
        // A trap, or the grate exiting or execing inside its handler,
        // ends only the worker: the caller sees GRATE_ERR.
        Err(_) => GRATE_ERR,
    }
}

/// Decrements grate_inflight however the handler ends.
struct InflightGuard<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
