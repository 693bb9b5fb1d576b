//! Cage threads and the cage life cycle: start, exec restart, exit, trap,
//! finalization (docs/lind-3i.md §7).

use crate::cage::{lock, Cage, ExitStatus};
use crate::runtime::Inner;
use crate::unwind::{classify, enter_thread, Unwind};
use crate::view::CageView;
use boundary::{nr, ChildMain, Guest, Program, ThreadBody, ThreadJoin, ThreeI};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Stack of a cage thread: Lind gives each grate worker 8 MiB.
const STACK: usize = 8 << 20;

/// What a cage's main thread starts with.
pub(crate) enum Start {
    Program(Arc<dyn Program>, Vec<String>),
    Fork(ChildMain),
}

/// Starts `cage`'s main thread.
pub(crate) fn spawn_cage(inner: &Arc<Inner>, cage: Arc<Cage>, start: Start) {
    cage.threads.fetch_add(1, Ordering::AcqRel);
    let inner = inner.clone();
    let name = format!("cage-{}", cage.id);
    let spawned = std::thread::Builder::new()
        .name(name)
        .stack_size(STACK)
        .spawn(move || cage_main(&inner, &cage, start));
    if let Err(err) = spawned {
        panic!("cannot start a cage thread: {err}");
    }
}

/// Starts a thread (clone with CLONE_VM) of `cage` with id `tid`.
pub(crate) fn spawn_thread(
    inner: &Arc<Inner>,
    cage: Arc<Cage>,
    tid: u64,
    body: ThreadBody,
) -> ThreadJoin {
    cage.threads.fetch_add(1, Ordering::AcqRel);
    let inner = inner.clone();
    let name = format!("cage-{}-t{tid}", cage.id);
    let handle = std::thread::Builder::new()
        .name(name)
        .stack_size(STACK)
        .spawn(move || {
            enter_thread(cage.id, tid);
            let view = CageView::own(inner.clone(), cage.clone());
            let ended = catch_unwind(AssertUnwindSafe(|| {
                body(&view);
                // A thread's end is EXIT (60), through the cage's table.
                let g = Guest::new(&view);
                g.call(nr::EXIT, &[g.int(0), g.scalar(tid)]);
            }));
            if let Err(payload) = ended {
                if classify(&*payload).is_none() {
                    trap(&inner, &cage);
                }
            }
            thread_end(&inner, &cage);
        });
    match handle {
        Ok(handle) => ThreadJoin(Box::new(move || {
            let _ = handle.join();
        })),
        Err(err) => panic!("cannot start a cage thread: {err}"),
    }
}

fn cage_main(inner: &Arc<Inner>, cage: &Arc<Cage>, mut start: Start) {
    enter_thread(cage.id, 1);
    let view = CageView::own(inner.clone(), cage.clone());
    loop {
        let ran = catch_unwind(AssertUnwindSafe(|| match start {
            Start::Program(program, argv) => {
                cage.set_program(program.clone());
                program.main(&view, &argv)
            }
            Start::Fork(body) => body(&view),
        }));
        match ran {
            // main returned: glibc's exit issues exit_group through the table.
            Ok(status) => {
                let _ = catch_unwind(AssertUnwindSafe(|| view.exit(status)));
                if !cage.is_dead() && !inner.is_stopped() {
                    // A grate swallowed the 231: Lind's _exit would spin and
                    // trap; the cage dies silently with that status.
                    mark_dead(inner, cage, ExitStatus::Exited(status));
                }
                break;
            }
            Err(payload) => match classify(&*payload) {
                Some(Unwind::Exec) => match lock(&cage.pending_exec).take() {
                    Some(exec) => start = Start::Program(exec.program, exec.argv),
                    None => break,
                },
                Some(_) => break,
                None => {
                    trap(inner, cage);
                    break;
                }
            },
        }
    }
    thread_end(inner, cage);
}

/// A trap (a panic in cage code): the cage dies silently for grates,
/// with Exited(1) as Lind records it for a crashed instance.
fn trap(inner: &Inner, cage: &Cage) {
    if !inner.is_stopped() {
        mark_dead(inner, cage, ExitStatus::Exited(1));
    }
}

/// What exit_group, a trap and a kill share: record the status, mark the
/// cage dead and exiting, and purge every entry routed to it (§3.6, §7.5).
pub(crate) fn mark_dead(inner: &Inner, cage: &Cage, status: ExitStatus) {
    cage.record_status(status);
    cage.dead.store(true, Ordering::Release);
    inner.set_exiting(cage.id);
    inner.tables.purge_dest(cage.id);
}

/// One thread of `cage` has ended; the last one finalizes the cage.
fn thread_end(inner: &Inner, cage: &Arc<Cage>) {
    if cage.threads.fetch_sub(1, Ordering::AcqRel) != 1 || inner.is_stopped() {
        return;
    }
    if !cage.is_dead() {
        // Only reachable if a thread ended without exit: treat as a trap.
        mark_dead(inner, cage, ExitStatus::Exited(1));
    }
    finalize(inner, cage);
}

/// Lind's cage_finalize: wait until no call runs in the cage as a grate,
/// give the parent a zombie, free the fds, forget the cage.
fn finalize(inner: &Inner, cage: &Arc<Cage>) {
    while cage.inflight.load(Ordering::Acquire) > 0 {
        if inner.is_stopped() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let status = cage.status().unwrap_or(ExitStatus::Exited(1));
    lock(&cage.fds).clear();
    if cage.parent != cage.id {
        if let Some(parent) = inner.cage(cage.parent) {
            lock(&parent.zombies).push_back((cage.id, status.wait_status()));
            parent.child_num.fetch_sub(1, Ordering::AcqRel);
            parent.zombie_cv.notify_all();
        }
    }
    inner.remove_cage(cage.id, status);
}
