//! `dump -y`: what file each recorded fd stands for, as strace -y shows it
//! live. The fds are the log's one model (`fds::LogFds`); this names each
//! open description: by its path (an `*at` call's relative path under its
//! dirfd's name), or "pipe" or "socket".

use abi::catalog::FdEffect;
use fds::{dirfd_of, path_of, LogFds, New};
use formats::{Record, SyscallRecord};
use render::FdNames;

/// The name of each open (cage, fd) the log has shown so far.
#[derive(Default)]
pub struct FdTracker {
    fds: LogFds<String>,
    /// Records noted so far: the model's numbering.
    noted: usize,
}

/// The name a new open description gets.
fn name_new(fds: &LogFds<String>, call: &SyscallRecord, new: New) -> Option<String> {
    match new {
        New::PipeEnd => Some("pipe".into()),
        New::SocketEnd => Some("socket".into()),
        New::Result => {
            let path = String::from_utf8_lossy(path_of(call)?).into_owned();
            Some(
                match dirfd_of(call).and_then(|fd| fds.open(call.cage, fd)) {
                    Some(dir) => format!("{dir}/{path}"),
                    None => path,
                },
            )
        }
    }
}

impl FdTracker {
    /// The name of `fd` of `cage`.
    pub fn name(&self, cage: u64, fd: i32) -> Option<String> {
        self.fds.open(cage, fd).cloned()
    }

    /// The name the fd `call` returns gets, if it returns one.
    pub fn result_name(&self, call: &SyscallRecord) -> Option<String> {
        let makes_fd =
            abi::catalog::lookup(call.nr).is_some_and(|i| i.fd_effect == FdEffect::ResultFd);
        match self.fds.dup_source(call) {
            Some(source) => Some((*source.open).clone()),
            None if makes_fd => name_new(&self.fds, call, New::Result),
            None => None,
        }
    }

    /// Takes in what `record` did to the fd tables.
    pub fn note(&mut self, record: &Record) {
        self.fds.note(self.noted, record, name_new);
        self.noted += 1;
    }

    /// The names `call` is shown with, before it is noted.
    pub fn names_for<'a>(
        &self,
        call: &SyscallRecord,
        arg: &'a dyn Fn(i32) -> Option<String>,
    ) -> FdNames<'a> {
        FdNames {
            arg: Some(arg),
            result: self.result_name(call),
        }
    }
}
