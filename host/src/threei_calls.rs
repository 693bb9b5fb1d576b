//! 3i's own endpoints: 1001 register_handler, 1002 copy_data_between_cages,
//! 1003 copy_handler_table_to_cage (docs/lind-3i.md §3, §5, §6).

use crate::memory::split_host;
use crate::runtime::Inner;
use crate::table::Route;
use boundary::consts::{ELINDAPIABORTED, ELINDESRCH, THREEI_DEREGISTER};
use boundary::{nr, Args};
use std::sync::Arc;

/// Runs the 3i function `which` (the fn_ptr of a 999999 entry).
pub(crate) fn call(inner: &Arc<Inner>, which: u64, args: &Args) -> i32 {
    match u32::try_from(which) {
        Ok(nr::REGISTER_HANDLER) => register(inner, args),
        Ok(nr::COPY_DATA_BETWEEN_CAGES) => copy_data(inner, args),
        Ok(nr::COPY_HANDLER_TABLE_TO_CAGE) => copy_table(inner, args),
        _ => inner.stop(format!("3i entry with unknown function {which}")),
    }
}

/// arg1 = target cage, arg1cage = call number, arg2cage = handler grate
/// (or 500), arg3 = fn_ptr. No validation beyond "not exiting" (§3.2).
fn register(inner: &Inner, args: &Args) -> i32 {
    let (target, number) = (args[0].value, args[0].cage);
    let (grate, fn_ptr) = (args[1].cage, args[2].value);
    if inner.is_exiting(target) || inner.is_exiting(grate) {
        return ELINDESRCH;
    }
    if grate == THREEI_DEREGISTER {
        inner.tables.deregister(target, number);
    } else {
        let route = Route {
            dest: grate,
            fn_ptr,
        };
        inner.tables.register(target, number, route);
    }
    0
}

/// arg1 = source cage, arg1cage = destination cage.
fn copy_table(inner: &Inner, args: &Args) -> i32 {
    let (src, dst) = (args[0].value, args[0].cage);
    if inner.is_exiting(src) || inner.is_exiting(dst) {
        return ELINDESRCH;
    }
    if inner.tables.copy(src, dst) {
        0
    } else {
        ELINDAPIABORTED
    }
}

/// (src, srccage), (dest, destcage), len, copytype; checked in Lind's
/// order. Succeeds with the destination address truncated to i32.
fn copy_data(inner: &Inner, args: &Args) -> i32 {
    let (src, src_cage) = (args[0].value, args[0].cage);
    let (dest, dest_cage) = (args[1].value, args[1].cage);
    let (len, kind) = (args[2].value, args[3].value);
    if src_cage == dest_cage || len > u64::from(u32::MAX) {
        return ELINDAPIABORTED;
    }
    if dest == 0 {
        inner.stop(format!(
            "copy_data_between_cages to address 0 (from cage {src_cage} to cage {dest_cage}): \
             Lind panics \"Dynamic allocation not yet supported\""
        ));
    }
    let Some(src_mem) = resolve(inner, src, src_cage) else {
        return ELINDAPIABORTED;
    };
    let Some(dest_mem) = resolve(inner, dest, dest_cage) else {
        return ELINDAPIABORTED;
    };
    let (src_off, dest_off) = (split_host(src).1, split_host(dest).1);
    let copy_len = match kind {
        0 => len as usize,
        1 => match src_mem.strlen(src_off, len as usize) {
            Some(n) => n + 1,
            None => return ELINDAPIABORTED,
        },
        _ => return ELINDAPIABORTED,
    };
    if !src_mem.in_bounds(src_off, copy_len) || !dest_mem.in_bounds(dest_off, copy_len) {
        return ELINDAPIABORTED;
    }
    // Bounce through a buffer so two cages' memory locks are never held
    // together (two opposite copies would otherwise deadlock).
    let mut bytes = vec![0u8; copy_len];
    if !src_mem.read(src_off, &mut bytes) || !dest_mem.write(dest_off, &bytes) {
        return ELINDAPIABORTED;
    }
    dest as u32 as i32
}

/// The memory a host address points into, if it names `cage` and the cage
/// exists. Lind would follow a host address anywhere; this runtime refuses
/// one whose cage bits disagree with its argcage, to catch the bug.
fn resolve(inner: &Inner, host: u64, cage: u64) -> Option<Arc<crate::memory::Memory>> {
    (split_host(host).0 == cage)
        .then(|| inner.cage(cage))
        .flatten()
        .map(|c| c.memory())
}
