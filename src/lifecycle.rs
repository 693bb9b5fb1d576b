//! fork, exec and exit: the primary performs them, the secondary stack sees
//! them simulated (so its per-cage state stays right and nothing forks,
//! execs or exits twice), and the recorder logs them.

use crate::faults::Fault;
use crate::state::TeeState;
use boundary::consts::{CLONE_ARGS_SIZE, CLONE_VM, GRATE_ERR};
use boundary::guest::OwnBuf;
use boundary::{nr, wait, Arg, Args, CageId, Errno, ThreeI};
use formats::{Ending, ExecRecord, ExitRecord, ForkRecord, Record};
use interpose::capture::{read_bytes, read_cstr, read_str_array};
use interpose::exec_args::stage_exec;
use interpose::floor::Expected;
use interpose::keys::{register_role, Role};
use interpose::verdict::Answer;
use std::sync::Arc;

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
        let mut calls: Vec<u32> = formats::CATALOG
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
        // The secondary knows its hold cage, not the tee or the primary
        // hold: to it, the app is a child of its own chain's last cage.
        let seen_parent = self.secondary_hold().unwrap_or(parent);
        self.simulate_fork(rt, seen_parent, child, &[0u8; CLONE_ARGS_SIZE]);
        self.log_fork(parent, child, false);
        Ok(())
    }

    pub(crate) fn on_clone(&self, rt: &dyn ThreeI, cage: CageId, args: &Args) -> i32 {
        let mut clone_args = [0u8; CLONE_ARGS_SIZE];
        let readable = read_bytes(rt, args[0].value, args[0].owner(), &mut clone_args).is_ok();
        let flags = u64::from_le_bytes(clone_args[..8].try_into().unwrap_or_default());
        let thread = readable && flags & CLONE_VM != 0;
        let ret = self.primary(rt, nr::CLONE, cage, args);
        if ret > 0 && !thread {
            let child = CageId(ret as u64);
            self.update_life(|life| {
                life.live.insert(child);
            });
            if let Some(stack) = self.stack() {
                stack.pairs.fork(cage, child);
            }
            self.simulate_fork(rt, cage, child, &clone_args);
        }
        if ret > 0 {
            self.log_fork(cage, CageId(ret as u64), thread);
        }
        ret
    }

    /// Lets the secondary stack see `parent` fork `child` without forking:
    /// its forwarded clone is answered with `child` by the floor.
    fn simulate_fork(&self, rt: &dyn ThreeI, parent: CageId, child: CageId, clone_args: &[u8]) {
        let Some(hold) = self.secondary_for(nr::CLONE) else {
            return;
        };
        let staged = OwnBuf::from_bytes(rt, clone_args);
        let mut args = Arg::all_unused(parent);
        args[0] = staged.arg();
        args[1] = Arg::new(0, parent);
        let answer = Arc::new(Answer {
            result: child.0 as i32,
            outputs: Vec::new(),
        });
        self.simulate(rt, hold, nr::CLONE, parent, &args, answer);
    }

    /// Issues a simulated call to the secondary with its answer expected,
    /// and counts a fault unless the secondary passes that answer back.
    fn simulate(
        &self,
        rt: &dyn ThreeI,
        hold: CageId,
        nr: u32,
        cage: CageId,
        args: &Args,
        answer: Arc<Answer>,
    ) {
        let Some(stack) = self.stack() else {
            return;
        };
        let expected = answer.result;
        let _expectation = stack.floor.expect(cage, Expected::plain(nr, answer));
        let ret = rt.make_call(nr, hold, cage, args);
        if ret != expected {
            let fault = if ret == GRATE_ERR {
                Fault::Panic
            } else {
                Fault::ResultMismatch
            };
            self.faults.count(fault, nr);
        }
    }

    fn log_fork(&self, parent: CageId, child: CageId, thread: bool) {
        if let Some(recorder) = self.secondary.recorder() {
            recorder.lifecycle(recorder.ticket(), |seq, time_us| {
                Record::Fork(ForkRecord {
                    seq,
                    parent: parent.0,
                    child: child.0,
                    thread,
                    time_us,
                })
            });
        }
    }

    pub(crate) fn on_exec(&self, rt: &dyn ThreeI, cage: CageId, args: &Args) -> i32 {
        let ticket = self.secondary.recorder().map(|r| r.ticket());
        // The exec replaces the cage's memory: copy path and argv first.
        let path = read_cstr(rt, args[0].value, args[0].owner()).unwrap_or_default();
        let argv = read_str_array(rt, args[1].value, args[1].owner()).unwrap_or_default();
        let ret = self.primary(rt, nr::EXECVE, cage, args);
        if ret == 0 {
            if let Some(stack) = self.stack() {
                stack.pairs.exec(cage);
            }
            self.simulate_exec(rt, cage, &path, &argv);
        }
        if let (Some(recorder), Some(ticket)) = (self.secondary.recorder(), ticket) {
            recorder.lifecycle(ticket, |seq, time_us| {
                Record::Exec(ExecRecord {
                    seq,
                    cage: cage.0,
                    path,
                    argv,
                    result: i64::from(ret),
                    time_us,
                })
            });
        }
        ret
    }

    fn simulate_exec(&self, rt: &dyn ThreeI, cage: CageId, path: &[u8], argv: &[Vec<u8>]) {
        let Some(hold) = self.secondary_for(nr::EXECVE) else {
            return;
        };
        let exec = stage_exec(rt, cage, path, argv);
        self.simulate(rt, hold, nr::EXECVE, cage, &exec.args, Arc::default());
    }

    pub(crate) fn on_exit(&self, rt: &dyn ThreeI, nr: u32, cage: CageId, args: &Args) -> i32 {
        let ticket = self.secondary.recorder().map(|r| r.ticket());
        let status = args[0].as_i32();
        let process = nr == nr::EXIT_GROUP;
        if process {
            if let Some(hold) = self.secondary_for(nr) {
                self.simulate(rt, hold, nr, cage, args, Arc::default());
            }
            if let Some(stack) = self.stack() {
                stack.pairs.exit(cage);
            }
        }
        if let (Some(recorder), Some(ticket)) = (self.secondary.recorder(), ticket) {
            recorder.lifecycle(ticket, |seq, time_us| {
                Record::Exit(ExitRecord {
                    seq,
                    cage: cage.0,
                    status,
                    process,
                    time_us,
                    ending: Ending::Called,
                })
            });
        }
        if process {
            self.cage_gone(cage);
        }
        self.primary(rt, nr, cage, args)
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
    pub fn ended_unseen(&self, rt: &dyn ThreeI, cage: CageId, status: Option<i32>) {
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
        if let Some(hold) = self.secondary_for(nr::EXIT_GROUP) {
            let mut args = Arg::all_unused(cage);
            args[0] = Arg::new(code as u32 as u64, cage);
            self.simulate(rt, hold, nr::EXIT_GROUP, cage, &args, Arc::default());
        }
        if let Some(stack) = self.stack() {
            stack.pairs.exit(cage);
        }
        if let Some(recorder) = self.secondary.recorder() {
            recorder.lifecycle(recorder.ticket(), |seq, time_us| {
                Record::Exit(ExitRecord {
                    seq,
                    cage: cage.0,
                    status: code,
                    process: true,
                    time_us,
                    ending,
                })
            });
        }
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
        self.ended_unseen(rt, CageId(ret as u64), status);
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
        )
    }

    #[test]
    fn every_catalog_call_is_teed_by_default() {
        let teed = state("all").app_calls();
        for info in formats::CATALOG
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
