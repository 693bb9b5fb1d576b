//! The tee's shared state: one instance per tee cage, used by its main and
//! by every handler call (which run concurrently on several threads).

use crate::cli::{Secondary, TeePlan};
use crate::faults::{Fault, Faults};
use crate::order::OrderLocks;
use crate::recorder::Recorder;
use crate::stack_watch::StackWatch;
use boundary::{Args, CageId, ThreeI};
use formats::CallFilter;
use interpose::capture::CaptureLimits;
use interpose::fdpair::PairTable;
use interpose::floor::Floor;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

/// Where the app's cages stand, guarded by one lock and signalled by one
/// condition variable.
#[derive(Debug, Default)]
pub struct Life {
    /// App cages alive now (grandchildren included).
    pub live: HashSet<CageId>,
    /// The first app cage, whose exit status becomes the tee's.
    pub first_app: Option<CageId>,
    /// The first app cage's wait status, once reaped.
    pub app_status: Option<i32>,
    /// The primary hold may start the app.
    pub start_app: bool,
    /// Every app cage is gone: holds may leave.
    pub shutdown: bool,
    /// The secondary hold's exit has gone down through the floor.
    pub secondary_hold_gone: bool,
}

/// The tee's state.
pub struct TeeState {
    pub me: CageId,
    /// The name the tee was started as, which hold cages exec.
    pub self_name: String,
    pub plan: TeePlan,
    pub filter: CallFilter,
    pub limits: CaptureLimits,
    seq: AtomicU64,
    life: Mutex<Life>,
    life_changed: Condvar,
    primary_hold: OnceLock<CageId>,
    secondary_hold: OnceLock<CageId>,
    /// A cage of the secondary stack exited before shutdown: its handlers
    /// are gone from the tables (Lind purges them), so nothing more may be
    /// sent through the secondary hold.
    secondary_ended: AtomicBool,
    stack_watch: StackWatch,
    /// Serialises "has the chain broken" with the hold checking in, so one
    /// of the two always sees the other.
    hold_watch: Mutex<()>,
    /// Primary fd to secondary fd, per app cage.
    pub pairs: Box<dyn PairTable>,
    pub floor: Floor,
    /// Keeps calls that change one open file in the order they took effect.
    pub order: OrderLocks,
    pub recorder: Option<Recorder>,
    pub faults: Faults,
}

impl TeeState {
    /// State for a tee running as `me` with `plan`.
    pub fn new(
        me: CageId,
        self_name: String,
        plan: TeePlan,
        filter: CallFilter,
        recorder: Option<Recorder>,
        pairs: Box<dyn PairTable>,
    ) -> TeeState {
        let limits = CaptureLimits {
            max_buffer: plan.max_buffer,
        };
        TeeState {
            me,
            self_name,
            plan,
            filter,
            limits,
            seq: AtomicU64::new(0),
            life: Mutex::default(),
            life_changed: Condvar::new(),
            primary_hold: OnceLock::new(),
            secondary_hold: OnceLock::new(),
            secondary_ended: AtomicBool::new(false),
            stack_watch: StackWatch::default(),
            hold_watch: Mutex::new(()),
            pairs,
            floor: Floor::new(),
            order: OrderLocks::default(),
            recorder,
            faults: Faults::default(),
        }
    }

    /// The next sequence number, taken when a call's primary has answered.
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Locks the lifecycle state. Updates are single assignments, so a
    /// poisoned lock still holds consistent data.
    pub fn life(&self) -> MutexGuard<'_, Life> {
        self.life.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `change` to the lifecycle state and wakes every waiter.
    pub fn update_life(&self, change: impl FnOnce(&mut Life)) {
        change(&mut self.life());
        self.life_changed.notify_all();
    }

    /// Blocks until `ready` holds, re-checking every `poll` so the caller can
    /// notice children dying; returns the guard when `ready` holds.
    pub fn wait_life(
        &self,
        poll: std::time::Duration,
        mut ready: impl FnMut(&Life) -> bool,
        mut on_timeout: impl FnMut() -> bool,
    ) -> bool {
        let mut life = self.life();
        loop {
            if ready(&life) {
                return true;
            }
            let (guard, timeout) = self
                .life_changed
                .wait_timeout(life, poll)
                .unwrap_or_else(|e| e.into_inner());
            life = guard;
            if timeout.timed_out() {
                drop(life);
                if !on_timeout() {
                    return false;
                }
                life = self.life();
            }
        }
    }

    /// Whether `cage` is an app cage the tee stands for.
    pub fn is_app(&self, cage: CageId) -> bool {
        self.life().live.contains(&cage)
    }

    /// Records the hold cage of a block; false if one already reported.
    pub fn set_hold(&self, secondary: bool, cage: CageId) -> bool {
        let slot = if secondary {
            &self.secondary_hold
        } else {
            &self.primary_hold
        };
        let fresh = slot.set(cage).is_ok();
        self.update_life(|_| {});
        fresh
    }

    /// The cage whose table the primary path goes through.
    pub fn primary_self(&self) -> CageId {
        *self.primary_hold.get().unwrap_or(&self.me)
    }

    /// The secondary stack's hold cage, once it has checked in.
    pub fn secondary_hold(&self) -> Option<CageId> {
        self.secondary_hold.get().copied()
    }

    /// Where to send call `nr` for the secondary: its hold cage, while the
    /// stack is up; a call that comes after the stack ended is counted.
    pub fn secondary_for(&self, nr: u32) -> Option<CageId> {
        if self.secondary_ended.load(Ordering::Relaxed) {
            self.faults.count(Fault::StackEnded, nr);
            return None;
        }
        self.secondary_hold()
    }

    /// Handles a call that reached the secondary's floor, watching the
    /// secondary chain's own forks and exits on the way (see `stack_watch`).
    pub fn on_floor(&self, rt: &dyn ThreeI, nr: u32, args: &Args) -> i32 {
        let cage = args[0].owner();
        let own_call = !self.is_app(cage);
        if nr == boundary::nr::EXIT_GROUP && Some(cage) == self.secondary_hold() {
            self.update_life(|life| life.secondary_hold_gone = true);
        }
        if own_call && nr == boundary::nr::EXIT_GROUP && !self.life().shutdown {
            self.stack_watch.exited(cage);
            self.check_secondary(rt);
        }
        let unmatched = interpose::floor::Unmatched::Refuse(boundary::Errno::ENOSYS);
        let ret = self
            .floor
            .handle(rt, nr, args, &|c| self.is_app(c), unmatched);
        if own_call && nr == boundary::nr::CLONE && ret > 0 {
            self.stack_watch.forked(cage, CageId(ret as u64));
        }
        ret
    }

    /// Ends duplication once a grate of the secondary chain has exited.
    /// Lind then purges its entries from the hold cage's table, and a call
    /// still on its way through the hold, or the hold's own exit at
    /// shutdown, would find no handler and panic the runtime. So, before the
    /// grate's exit goes through, the hold gets the floor for every call:
    /// late duplicates are answered from the primary, never executed, and
    /// the hold's own calls pass through below the tee.
    pub fn check_secondary(&self, rt: &dyn ThreeI) {
        let _serial = self.hold_watch.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hold) = self.secondary_hold() {
            self.repair_if_broken(rt, hold);
        }
    }

    /// Checks in the secondary hold. Repairs its table first if its chain
    /// already broke, so nothing is sent through it before that.
    pub fn check_in_secondary(&self, rt: &dyn ThreeI, hold: CageId) -> bool {
        let _serial = self.hold_watch.lock().unwrap_or_else(|e| e.into_inner());
        self.repair_if_broken(rt, hold);
        self.set_hold(true, hold)
    }

    fn repair_if_broken(&self, rt: &dyn ThreeI, hold: CageId) {
        if self.stack_watch.chain_broken(hold)
            && !self.secondary_ended.swap(true, Ordering::Relaxed)
        {
            let _ = interpose::keys::install_floor(rt, hold, &interpose::keys::TEE_CALLS);
        }
    }

    /// The primary stack's hold cage, once it is up.
    pub fn primary_hold(&self) -> Option<CageId> {
        self.primary_hold.get().copied()
    }

    /// Whether the secondary is a live stack (rather than the recorder).
    pub fn has_stack(&self) -> bool {
        matches!(self.plan.secondary, Secondary::Stack(_))
    }

    /// Runs the primary path for `nr` on behalf of `cage`.
    pub fn primary(&self, rt: &dyn ThreeI, nr: u32, cage: CageId, args: &Args) -> i32 {
        rt.make_call(nr, self.primary_self(), cage, args)
    }
}

/// The cage a call was made by. glibc sets all six argcages to the caller
/// and the tee only ever changes pointer argcages, so the last slot (unused
/// or scalar in every call Lind implements) names the caller.
pub fn caller(args: &Args) -> CageId {
    args[5].owner()
}
