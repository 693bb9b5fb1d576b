//! The tee's secondary, one of two kinds: a recorder writing the trace
//! log, or a live grate stack with what only a live stack needs (its hold
//! cage, the floor under it, the fd pairs, the watch on its chain).

use crate::faults::{Fault, Faults};
use crate::recorder::Recorder;
use crate::stack_watch::StackWatch;
use abi::sync::lock;
use boundary::{CageId, ThreeI};
use interpose::fdpair::PairTable;
use interpose::floor::Floor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

pub enum Secondary {
    Recorder(Recorder),
    /// Boxed, as the recorder boxes its writer: the two stay small.
    Stack(Box<LiveStack>),
}

/// A live secondary stack.
pub struct LiveStack {
    /// The argv chain of the stack's grates.
    pub chain: Vec<String>,
    hold: OnceLock<CageId>,
    /// A cage of the stack exited before shutdown: its handlers are gone
    /// from the tables (Lind purges them), so nothing more may be sent
    /// through the hold.
    ended: AtomicBool,
    watch: StackWatch,
    /// Serialises "has the chain broken" with the hold checking in, so one
    /// of the two always sees the other.
    hold_watch: Mutex<()>,
    /// Primary fd to secondary fd, per app cage.
    pub pairs: Box<dyn PairTable>,
    pub floor: Floor,
}

impl Secondary {
    /// The live stack, if that is the secondary.
    pub fn stack(&self) -> Option<&LiveStack> {
        match self {
            Secondary::Stack(stack) => Some(stack),
            Secondary::Recorder(_) => None,
        }
    }

    /// The recorder, if that is the secondary.
    pub fn recorder(&self) -> Option<&Recorder> {
        match self {
            Secondary::Recorder(recorder) => Some(recorder),
            Secondary::Stack(_) => None,
        }
    }
}

impl LiveStack {
    pub fn new(chain: Vec<String>, pairs: Box<dyn PairTable>) -> LiveStack {
        LiveStack {
            chain,
            hold: OnceLock::new(),
            ended: AtomicBool::new(false),
            watch: StackWatch::default(),
            hold_watch: Mutex::new(()),
            pairs,
            floor: Floor::new(),
        }
    }

    /// The stack's hold cage, once it has checked in.
    pub fn hold(&self) -> Option<CageId> {
        self.hold.get().copied()
    }

    /// Where to send call `nr`: the hold cage, while the stack is up; a
    /// call that comes after the stack ended is counted in `faults`.
    pub fn target(&self, faults: &Faults, nr: u32) -> Option<CageId> {
        if self.ended.load(Ordering::Relaxed) {
            faults.count(Fault::StackEnded, nr);
            return None;
        }
        self.hold()
    }

    /// A grate of the chain (not an app cage) forked `child`.
    pub fn grate_forked(&self, parent: CageId, child: CageId) {
        self.watch.forked(parent, child);
    }

    /// A grate of the chain exited before shutdown: ends duplication.
    /// Lind then purges its entries from the hold cage's table, and a call
    /// still on its way through the hold, or the hold's own exit at
    /// shutdown, would find no handler and panic the runtime. So, before
    /// the grate's exit goes through, the hold gets the floor for every
    /// call: late duplicates are answered from the primary, never
    /// executed, and the hold's own calls pass through below the tee.
    pub fn grate_exited(&self, rt: &dyn ThreeI, cage: CageId) {
        self.watch.exited(cage);
        let _serial = lock(&self.hold_watch);
        if let Some(hold) = self.hold() {
            self.repair_if_broken(rt, hold);
        }
    }

    /// Checks the hold in; false if one already had. Repairs its table
    /// first if the chain already broke, so nothing is sent through it
    /// before that.
    pub fn check_in(&self, rt: &dyn ThreeI, hold: CageId) -> bool {
        let _serial = lock(&self.hold_watch);
        self.repair_if_broken(rt, hold);
        self.hold.set(hold).is_ok()
    }

    /// Cuts a detached stack loose from the tee before the tee exits. A
    /// grate stuck in a call runs on the tee's thread, and its own calls
    /// go down through the floor's entries in its cage's table; 3i purges
    /// those when the tee exits, and the grate's next call would find no
    /// handler and panic the runtime. Each cage of the stack gets a copy
    /// of the tee's own table instead, which holds no grate's entries: what
    /// they call goes to the real system, as the floor passed their own
    /// calls through anyway.
    pub fn cut_loose(&self, rt: &dyn ThreeI) {
        // Not killed: a killed cage's table goes, and the stuck call's
        // next call down would panic the runtime just the same.
        for cage in self.watch.live_cages() {
            let _ = rt.copy_handler_table(rt.cage_id(), cage);
        }
    }

    fn repair_if_broken(&self, rt: &dyn ThreeI, hold: CageId) {
        if self.watch.chain_broken(hold) && !self.ended.swap(true, Ordering::Relaxed) {
            let _ = interpose::keys::install_floor(rt, hold, &interpose::keys::TEE_CALLS);
        }
    }
}
