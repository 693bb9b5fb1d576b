//! The tee's shared state: one instance per tee cage, used by its main and
//! by every handler call (which run concurrently on several threads).

use crate::cli::TeePlan;
use crate::faults::Faults;
use crate::handoff::Handoff;
use crate::job::Job;
use crate::order::OrderLocks;
use crate::secondary::{LiveStack, Secondary};
use abi::sync::lock;
use boundary::{Args, CageId, ThreeI};
use interpose::capture::CaptureLimits;
use std::collections::HashSet;
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
    pub limits: CaptureLimits,
    life: Mutex<Life>,
    life_changed: Condvar,
    primary_hold: OnceLock<CageId>,
    pub secondary: Secondary,
    /// Keeps calls that change one open file in the order they took effect.
    pub order: OrderLocks,
    pub faults: Faults,
    /// The app's threads hand the secondary's thread its work here.
    pub handoff: Handoff<Job>,
    /// What buffers a job keeps: the live stack gets whole buffers (it
    /// issues the call from them), the log what `--max-buffer` keeps.
    pub input_limits: CaptureLimits,
}

impl TeeState {
    /// State for a tee running as `me` with `plan`.
    pub fn new(
        me: CageId,
        self_name: String,
        plan: TeePlan,
        secondary: Secondary,
        now_ms: Box<dyn Fn() -> u64 + Send + Sync>,
    ) -> TeeState {
        let limits = CaptureLimits {
            max_buffer: plan.max_buffer,
        };
        let input_limits = match secondary {
            Secondary::Stack(_) => CaptureLimits {
                max_buffer: interpose::staging::MAX_STAGED as usize,
            },
            Secondary::Recorder(_) => limits,
        };
        let handoff = Handoff::new(
            plan.queue,
            plan.on_full,
            plan.stall_ms,
            now_ms,
            Job::describe,
        );
        TeeState {
            me,
            self_name,
            plan,
            limits,
            life: Mutex::default(),
            life_changed: Condvar::new(),
            primary_hold: OnceLock::new(),
            secondary,
            order: OrderLocks::default(),
            faults: Faults::default(),
            handoff,
            input_limits,
        }
    }

    /// Locks the lifecycle state. Updates are single assignments, so a
    /// poisoned lock still holds consistent data.
    pub fn life(&self) -> MutexGuard<'_, Life> {
        lock(&self.life)
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

    /// Forgets `cage` as a live app cage; false if it was not one.
    pub fn take_live(&self, cage: CageId) -> bool {
        let was_live = self.life().live.remove(&cage);
        self.life_changed.notify_all();
        was_live
    }

    /// Whether `cage` is an app cage the tee stands for.
    pub fn is_app(&self, cage: CageId) -> bool {
        self.life().live.contains(&cage)
    }

    /// Records the primary hold; false if one already reported.
    pub fn set_primary_hold(&self, cage: CageId) -> bool {
        let fresh = self.primary_hold.set(cage).is_ok();
        self.update_life(|_| {});
        fresh
    }

    /// Checks the secondary stack's hold in; false if one already had.
    pub fn check_in_secondary(&self, rt: &dyn ThreeI, hold: CageId) -> bool {
        let fresh = self.stack().is_some_and(|stack| stack.check_in(rt, hold));
        self.update_life(|_| {});
        fresh
    }

    /// The cage whose table the primary path goes through.
    pub fn primary_self(&self) -> CageId {
        *self.primary_hold.get().unwrap_or(&self.me)
    }

    /// The primary stack's hold cage, once it is up.
    pub fn primary_hold(&self) -> Option<CageId> {
        self.primary_hold.get().copied()
    }

    /// The live secondary stack, if that is the secondary.
    pub fn stack(&self) -> Option<&LiveStack> {
        self.secondary.stack()
    }

    /// The secondary stack's hold cage, once it has checked in.
    pub fn secondary_hold(&self) -> Option<CageId> {
        self.stack().and_then(LiveStack::hold)
    }

    /// Where to send call `nr` for the secondary: its hold cage, while the
    /// stack is up; a call that comes after the stack ended is counted.
    pub fn secondary_for(&self, nr: u32) -> Option<CageId> {
        self.stack()?.target(&self.faults, nr)
    }

    /// Handles a call that reached the secondary's floor, watching the
    /// secondary chain's own forks and exits on the way (see `stack_watch`).
    pub fn on_floor(&self, rt: &dyn ThreeI, nr: u32, args: &Args) -> i32 {
        let Some(stack) = self.stack() else {
            return boundary::Errno::ENOSYS.ret();
        };
        let cage = args[0].owner();
        let own_call = !self.is_app(cage);
        if nr == boundary::nr::EXIT_GROUP && Some(cage) == stack.hold() {
            self.update_life(|life| life.secondary_hold_gone = true);
        }
        if own_call && nr == boundary::nr::EXIT_GROUP && !self.life().shutdown {
            stack.grate_exited(rt, cage);
        }
        let unmatched = interpose::floor::Unmatched::Refuse(boundary::Errno::ENOSYS);
        let ret = stack
            .floor
            .handle(rt, nr, args, &|c| self.is_app(c), unmatched);
        if own_call && nr == boundary::nr::CLONE && ret > 0 {
            stack.grate_forked(cage, CageId(ret as u64));
        }
        ret
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
