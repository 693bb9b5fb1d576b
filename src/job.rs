//! What an app's thread hands the secondary: one job per call the primary
//! answered or lifecycle event, carrying copies of everything the
//! secondary needs, so the app is free to run on and change its memory.

use abi::sync::lock;
use boundary::consts::CLONE_ARGS_SIZE;
use boundary::CageId;
use formats::{Ending, Record, SyscallRecord};
use std::sync::{Arc, Condvar, Mutex};

/// One job, numbered when it was queued.
pub struct Job {
    pub seq: u64,
    /// Calls dropped for a full queue just before this one: the gap's own
    /// number and how many.
    pub gap: Option<(u64, u64)>,
    pub work: Work,
}

/// The work itself.
pub enum Work {
    /// A call the primary answered: the record the recorder appends, whose
    /// inputs, outputs and result a live stack is given and answered with.
    Call {
        record: SyscallRecord,
        /// false for calls the primary alone performs (wait4, kill): logged,
        /// never sent to a live stack.
        duplicate: bool,
        /// Set for a call queued before its primary ran (a close, whose fd
        /// number another thread's open may take as soon as it returns):
        /// the result arrives here.
        later: Option<Arc<Later>>,
    },
    /// `parent` forked `child` (or started a thread); `adopted`: the tee
    /// started it as the app.
    Fork {
        parent: CageId,
        adopted: bool,
        child: CageId,
        thread: bool,
        clone_args: Box<[u8; CLONE_ARGS_SIZE]>,
        time_us: u64,
    },
    Exec {
        cage: CageId,
        path: Vec<u8>,
        argv: Vec<Vec<u8>>,
        result: i32,
        time_us: u64,
    },
    Exit {
        cage: CageId,
        status: i32,
        process: bool,
        ending: Ending,
        time_us: u64,
    },
}

impl Job {
    /// What this job's record is, for the recorder; `stamp`, when given,
    /// is its time (`--timing batch`).
    pub fn record(&self, result: Option<i32>, stamp: Option<u64>) -> Record {
        let mut record = self.unstamped(result);
        if let Some(time_us) = stamp {
            record.set_time_us(time_us);
        }
        record
    }

    fn unstamped(&self, result: Option<i32>) -> Record {
        let seq = self.seq;
        match &self.work {
            Work::Call { record, .. } => {
                let mut record = record.clone();
                record.seq = seq;
                if let Some(result) = result {
                    record.result = i64::from(result);
                }
                Record::Syscall(record)
            }
            Work::Fork {
                parent,
                child,
                thread,
                time_us,
                ..
            } => Record::Fork(formats::ForkRecord {
                seq,
                parent: parent.0,
                child: child.0,
                thread: *thread,
                time_us: *time_us,
            }),
            Work::Exec {
                cage,
                path,
                argv,
                result,
                time_us,
            } => Record::Exec(formats::ExecRecord {
                seq,
                cage: cage.0,
                path: path.clone(),
                argv: argv.clone(),
                result: i64::from(*result),
                time_us: *time_us,
            }),
            Work::Exit {
                cage,
                status,
                process,
                ending,
                time_us,
            } => Record::Exit(formats::ExitRecord {
                seq,
                cage: cage.0,
                status: *status,
                process: *process,
                time_us: *time_us,
                ending: *ending,
            }),
        }
    }

    /// The job as strace would show it, for the summary of a stall.
    pub fn describe(&self) -> String {
        let (call, cage) = match &self.work {
            Work::Call { record, .. } => {
                let mut call = render::describe_call(record, 64);
                if let Some(at) = call.rfind(" = ") {
                    call.truncate(at);
                }
                (call, record.cage)
            }
            Work::Fork { parent, child, .. } => (format!("fork() for child {}", child.0), parent.0),
            Work::Exec { cage, path, .. } => (
                format!("execve({}, ...)", render::quote(path, 64, false)),
                cage.0,
            ),
            Work::Exit { cage, status, .. } => (format!("exit_group({status})"), cage.0),
        };
        format!("{call} in cage {cage}")
    }

    /// Bytes the job holds, for the queue's bound.
    pub fn size(work: &Work) -> usize {
        match work {
            Work::Call { record, .. } => record
                .inputs
                .iter()
                .chain(&record.outputs)
                .map(|b| b.data.len())
                .sum(),
            Work::Exec { path, argv, .. } => path.len() + argv.iter().map(Vec::len).sum::<usize>(),
            Work::Fork { .. } | Work::Exit { .. } => 0,
        }
    }
}

/// A result the app's thread has yet to get from the primary.
#[derive(Default)]
pub struct Later {
    result: Mutex<Option<Option<i32>>>,
    ready: Condvar,
}

impl Later {
    /// Gives the result (`None`: the primary never answered, the call
    /// unwound).
    pub fn set(&self, result: Option<i32>) {
        *lock(&self.result) = Some(result);
        self.ready.notify_all();
    }

    /// Waits for the result.
    pub fn wait(&self) -> Option<i32> {
        let mut result = lock(&self.result);
        loop {
            if let Some(result) = *result {
                return result;
            }
            result = self.ready.wait(result).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Gives a [`Later`] its result, or `None` if the primary unwound first.
pub struct Promise(pub Arc<Later>);

impl Promise {
    pub fn keep(self, result: i32) {
        self.0.set(Some(result));
        std::mem::forget(self);
    }
}

impl Drop for Promise {
    fn drop(&mut self) {
        self.0.set(None);
    }
}
