//! fork, exec and exit: the primary performs them, the secondary stack sees
//! them simulated (so its per-cage state stays right and nothing forks,
//! execs or exits twice), and the recorder logs them.

use crate::job::Work;
use crate::state::TeeState;
use boundary::consts::{CLONE_ARGS_SIZE, CLONE_VM};
use boundary::{nr, wait, Args, CageId, Errno, ThreeI};
use formats::Ending;
use interpose::capture::{read_bytes, read_cstr, read_str_array};
use interpose::keys::{register_role, Role};

impl TeeState {
    /// Numbers the tee registers on every app cage.
    pub fn app_calls(&self) -> Vec<u32> {
        let lifecycle = [
            nr::CLONE,
            nr::EXECVE,
            nr::EXIT,
            nr::EXIT_GROUP,
            nr::WAIT4,
            nr::KILL,
        ];
        let mut calls: Vec<u32> = abi::catalog::CATALOG
            .iter()
            .filter(|info| info.nr < nr::REGISTER_HANDLER && self.plan.calls.matches(info.nr))
            .map(|info| info.nr)
            .chain(lifecycle)
            .collect();
        calls.sort_unstable();
        calls.dedup();
        calls
    }

    /// Makes `child` (just forked by `parent`, not yet exec'd) an app cage:
    /// registers the tee on it and lets the secondary see the fork.
    pub fn adopt(&self, rt: &dyn ThreeI, parent: CageId, child: CageId) -> Result<(), Errno> {
        register_role(rt, child, Role::App, self.app_calls().into_iter())?;
        self.update_life(|life| {
            life.live.insert(child);
            life.first_app.get_or_insert(child);
        });
        self.queue_fork(parent, child, false, true, [0u8; CLONE_ARGS_SIZE]);
        Ok(())
    }

    pub(crate) fn on_clone(&self, rt: &dyn ThreeI, cage: CageId, args: &Args) -> i32 {
        let mut clone_args = [0u8; CLONE_ARGS_SIZE];
        let readable = read_bytes(rt, args[0].value, args[0].owner(), &mut clone_args).is_ok();
        let flags = u64::from_le_bytes(clone_args[..8].try_into().unwrap_or_default());
        let thread = readable && flags & CLONE_VM != 0;
        let ret = self.primary(rt, nr::CLONE, cage, args);
        if ret > 0 {
            let child = CageId(ret as u64);
            if !thread {
                self.update_life(|life| {
                    life.live.insert(child);
                });
            }
            self.queue_fork(cage, child, thread, false, clone_args);
        }
        ret
    }

    fn queue_fork(
        &self,
        parent: CageId,
        child: CageId,
        thread: bool,
        adopted: bool,
        clone_args: [u8; CLONE_ARGS_SIZE],
    ) {
        self.hand_off(Work::Fork {
            parent,
            adopted,
            child,
            thread,
            clone_args: Box::new(clone_args),
            time_us: self.lifecycle_time(),
        });
    }

    /// The time a lifecycle record gets; a live stack needs none, and
    /// under `--timing batch` the secondary's thread stamps it.
    fn lifecycle_time(&self) -> u64 {
        match self.plan.timing {
            crate::cli::Timing::Call => self.secondary.recorder().map_or(0, |r| r.time_us()),
            crate::cli::Timing::Batch => 0,
        }
    }

    pub(crate) fn on_exec(&self, rt: &dyn ThreeI, cage: CageId, args: &Args) -> i32 {
        // The exec replaces the cage's memory: copy path and argv first.
        let path = read_cstr(rt, args[0].value, args[0].owner()).unwrap_or_default();
        let argv = read_str_array(rt, args[1].value, args[1].owner()).unwrap_or_default();
        let ret = self.primary(rt, nr::EXECVE, cage, args);
        // Queued before the handler returns, so before the new program's
        // first call: the exec returns to the tee first, on Lind and here.
        self.hand_off(Work::Exec {
            cage,
            path,
            argv,
            result: ret,
            time_us: self.lifecycle_time(),
        });
        ret
    }

    pub(crate) fn on_exit(&self, rt: &dyn ThreeI, nr: u32, cage: CageId, args: &Args) -> i32 {
        let status = args[0].as_i32();
        let process = nr == nr::EXIT_GROUP;
        self.queue_exit(cage, status, process, Ending::Called);
        if process {
            self.cage_gone(cage);
        }
        self.primary(rt, nr, cage, args)
    }

    /// Queues a cage's exit. A live stack's calls name the app cage as
    /// their target, which 3i refuses once the cage is gone: a process
    /// exit waits until the secondary has had every call before it (at
    /// most the stall limit).
    fn queue_exit(&self, cage: CageId, status: i32, process: bool, ending: Ending) {
        self.hand_off(Work::Exit {
            cage,
            status,
            process,
            ending,
            time_us: self.lifecycle_time(),
        });
        if process && self.stack().is_some() {
            self.handoff.drain();
        }
    }

    /// An app cage ended (its exit seen, or its parent reaped it).
    pub fn cage_gone(&self, cage: CageId) {
        self.update_life(|life| {
            life.live.remove(&cage);
        });
    }

    /// `cage` was reaped with wait status `status`, or found gone (`None`).
    /// If its exit never passed through the tee (a signal killed it, it
    /// trapped: Lind tells no grate, docs/lind-3i.md §7.5), the exit is
    /// recorded now, the secondary sees it simulated, and the run stops
    /// waiting for it.
    pub fn ended_unseen(&self, cage: CageId, status: Option<i32>) {
        if !self.take_live(cage) {
            return;
        }
        let (code, ending) = match status {
            Some(s) if wait::wifsignaled(s) => (
                128 + wait::wtermsig(s),
                Ending::Killed(wait::wtermsig(s) as u32),
            ),
            Some(s) => (wait::wexitstatus(s), Ending::Unseen),
            None => (0, Ending::Unseen),
        };
        self.queue_exit(cage, code, true, ending);
    }

    /// The app's wait4 returned `ret`: a child it reaped that never exited
    /// through the tee ended unseen, with the status the app was given.
    pub(crate) fn on_reaped(&self, rt: &dyn ThreeI, args: &Args, ret: i32) {
        if ret <= 0 || !self.is_app(CageId(ret as u64)) {
            return;
        }
        let mut status = [0u8; 4];
        let readable = args[1].value != 0
            && read_bytes(rt, args[1].value, args[1].owner(), &mut status).is_ok();
        let status = readable.then(|| i32::from_le_bytes(status));
        self.ended_unseen(CageId(ret as u64), status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Parsed};
    use crate::secondary::{LiveStack, Secondary};

    fn state(calls: &str) -> TeeState {
        let argv: Vec<String> = [
            "tee-grate",
            "--calls",
            calls,
            "--record",
            "t.log",
            "--",
            "app",
        ]
        .map(String::from)
        .to_vec();
        let Ok(Parsed::Run(plan)) = parse(&argv) else {
            panic!("plan")
        };
        let stack = LiveStack::new(Vec::new(), Box::<interpose::fdpair::FdPairs>::default());
        TeeState::new(
            CageId(1),
            "tee-grate".into(),
            plan,
            Secondary::Stack(Box::new(stack)),
            Box::new(|| 0),
        )
    }

    #[test]
    fn every_catalog_call_is_teed_by_default() {
        let teed = state("all").app_calls();
        for info in abi::catalog::CATALOG
            .iter()
            .filter(|i| i.nr < nr::REGISTER_HANDLER)
        {
            assert!(
                teed.contains(&info.nr),
                "{} ({}) is not teed",
                info.name,
                info.nr
            );
        }
    }

    #[test]
    fn lifecycle_calls_are_intercepted_whatever_the_filter() {
        let teed = state("write").app_calls();
        for nr in [nr::CLONE, nr::EXECVE, nr::EXIT, nr::EXIT_GROUP, nr::WRITE] {
            assert!(teed.contains(&nr), "{nr}");
        }
        assert!(!teed.contains(&nr::READ));
    }
}
