//! Per-OS-thread state and the private unwinds that end a cage's thread.
//!
//! Lind ends a thread by an asyncify unwind after exit or exec; here the
//! thread unwinds with [`std::panic::resume_unwind`] and a private payload,
//! which does not run the panic hook. Any other panic in cage code is a
//! trap: the cage dies silently for grates (docs/lind-3i.md §7.5).

use boundary::{ChildMain, ThreadBody};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::sync::Once;

/// Why a cage thread is unwinding on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unwind {
    /// exit_group ran: the thread ends.
    Exit,
    /// execve succeeded: the runner starts the new program.
    Exec,
    /// The run was stopped: every thread just ends.
    Stop,
    /// The cage was killed (or is exiting) and this thread must end.
    Killed,
}

/// Unwinds the current thread with `why`.
pub(crate) fn unwind(why: Unwind) -> ! {
    std::panic::resume_unwind(Box::new(why))
}

/// The private unwind a panic payload carries, if it is one.
pub(crate) fn classify(payload: &(dyn Any + Send)) -> Option<Unwind> {
    payload.downcast_ref::<Unwind>().copied()
}

/// A fork or thread start in progress on this OS thread: the child's
/// continuation waits here until the kernel's CLONE takes it, and the
/// started child waits here until the outermost call returns (§7.4).
pub(crate) struct ForkSlot {
    /// The cage whose fork this is; CLONE must target it.
    pub cage: u64,
    pub pending: Pending,
    pub started: Option<Started>,
}

/// The continuation not yet taken by CLONE.
pub(crate) enum Pending {
    Fork(Option<ChildMain>),
    Thread(Option<ThreadBody>),
}

/// What CLONE created, to start once the call chain has returned.
pub(crate) enum Started {
    Child(std::sync::Arc<crate::cage::Cage>, ChildMain),
    Thread(u64, ThreadBody),
}

thread_local! {
    /// The cage this OS thread runs, for the panic hook's one line.
    static CAGE: Cell<Option<u64>> = const { Cell::new(None) };
    /// This thread's id inside its cage (what Lind puts in arg2 of
    /// CLONE, EXIT and EXIT_GROUP).
    static TID: Cell<u64> = const { Cell::new(0) };
    static SLOTS: RefCell<Vec<ForkSlot>> = const { RefCell::new(Vec::new()) };
}

/// Marks this OS thread as running `cage`'s thread `tid`.
pub(crate) fn enter_thread(cage: u64, tid: u64) {
    CAGE.with(|c| c.set(Some(cage)));
    TID.with(|t| t.set(tid));
}

/// This thread's tid in its cage (0 outside cage threads).
pub(crate) fn current_tid() -> u64 {
    TID.with(Cell::get)
}

/// Pushes a slot; the returned guard pops it (and anything a failed
/// nested fork left above it) and hands back what CLONE started.
pub(crate) fn push_slot(cage: u64, pending: Pending) -> SlotGuard {
    let depth = SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        s.push(ForkSlot {
            cage,
            pending,
            started: None,
        });
        s.len()
    });
    SlotGuard { depth }
}

/// Pops its slot when dropped, even on unwind.
pub(crate) struct SlotGuard {
    depth: usize,
}

impl SlotGuard {
    /// Pops the slot and returns what the kernel started for it.
    pub(crate) fn finish(self) -> Option<Started> {
        let started = SLOTS.with(|s| {
            let mut s = s.borrow_mut();
            s.truncate(self.depth);
            s.pop().and_then(|slot| slot.started)
        });
        std::mem::forget(self);
        started
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        SLOTS.with(|s| s.borrow_mut().truncate(self.depth - 1));
    }
}

/// Runs `f` on the innermost slot of this thread, if it belongs to `cage`.
pub(crate) fn with_top_slot<R>(cage: u64, f: impl FnOnce(&mut ForkSlot) -> R) -> Option<R> {
    SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        match s.last_mut() {
            Some(slot) if slot.cage == cage => Some(f(slot)),
            _ => None,
        }
    })
}

/// Installs (once) a panic hook that reports a trap in cage code as one
/// line; panics on other threads go to the previous hook unchanged.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match CAGE.with(Cell::get) {
            Some(cage) => {
                let payload = info.payload();
                let msg = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("(non-text panic)");
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                eprintln!("[host] trap in cage {cage}: {msg}{at}");
            }
            None => previous(info),
        }));
    });
}
