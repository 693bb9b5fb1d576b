//! imfs's open file descriptions, per-cage fd tables and in-memory pipes.

use super::tree::Ino;
use crate::kit::lock;
use boundary::consts::open_flags::{O_ACCMODE, O_RDONLY, O_WRONLY};
use boundary::Errno;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// fds are `0..MAX_FD`, as in Lind's fdtables (docs/lind-3i.md §10).
pub const MAX_FD: i32 = 1024;
/// The lowest number imfs hands out: 0-2 stay the real stdio below.
pub const FIRST_VIRTUAL_FD: i32 = 3;
/// How long a read on an empty pipe with live writers waits before EAGAIN:
/// a blocked read holds a worker of every grate on its path (docs/lind-3i.md §12),
/// so it must not wait forever.
const PIPE_WAIT: Duration = Duration::from_secs(10);

/// What an open file description refers to.
pub enum Open {
    File(Ino),
    /// A directory and the path it was opened by, for `*at` calls.
    Dir {
        ino: Ino,
        path: Vec<String>,
    },
    PipeRead(PipeEnd),
    PipeWrite(PipeEnd),
}

/// An open file description: shared by dups and across fork.
pub struct Desc {
    pub open: Open,
    pub state: Mutex<DescState>,
}

/// The mutable part of a description.
pub struct DescState {
    /// File offset, or entries already returned for a directory.
    pub offset: u64,
    /// Access mode plus O_APPEND and O_NONBLOCK.
    pub flags: i32,
}

impl Desc {
    pub fn new(open: Open, flags: i32) -> Arc<Desc> {
        Arc::new(Desc {
            open,
            state: Mutex::new(DescState { offset: 0, flags }),
        })
    }

    pub fn readable(&self) -> bool {
        lock(&self.state).flags & O_ACCMODE != O_WRONLY
    }

    pub fn writable(&self) -> bool {
        lock(&self.state).flags & O_ACCMODE != O_RDONLY
    }
}

/// One slot of a cage's fd table.
#[derive(Clone)]
pub enum FdEntry {
    /// A real fd of the layer below (stdio, or one made by a forwarded dup):
    /// calls on it are forwarded unchanged.
    Passthrough,
    /// An imfs fd.
    Virtual { desc: Arc<Desc>, cloexec: bool },
}

/// A cage's fds. Numbers not in the table are forwarded, too.
#[derive(Clone)]
pub struct FdTable {
    fds: BTreeMap<i32, FdEntry>,
}

impl FdTable {
    /// A table with the real stdio 0, 1, 2.
    pub fn with_stdio() -> FdTable {
        FdTable {
            fds: (0..FIRST_VIRTUAL_FD)
                .map(|fd| (fd, FdEntry::Passthrough))
                .collect(),
        }
    }

    pub fn get(&self, fd: i32) -> Option<&FdEntry> {
        self.fds.get(&fd)
    }

    pub fn get_mut(&mut self, fd: i32) -> Option<&mut FdEntry> {
        self.fds.get_mut(&fd)
    }

    /// The lowest unused number `>= max(min, 3)`.
    pub fn lowest_free(&self, min: i32) -> Result<i32, Errno> {
        (min.max(FIRST_VIRTUAL_FD)..MAX_FD)
            .find(|fd| !self.fds.contains_key(fd))
            .ok_or(Errno::EMFILE)
    }

    /// Puts `entry` at `fd`, handing back what was there.
    pub fn insert(&mut self, fd: i32, entry: FdEntry) -> Option<FdEntry> {
        self.fds.insert(fd, entry)
    }

    /// Puts `entry` at the lowest free number `>= min`.
    pub fn insert_lowest(&mut self, min: i32, entry: FdEntry) -> Result<i32, Errno> {
        let fd = self.lowest_free(min)?;
        self.fds.insert(fd, entry);
        Ok(fd)
    }

    pub fn remove(&mut self, fd: i32) -> Option<FdEntry> {
        self.fds.remove(&fd)
    }

    /// Removes the close-on-exec fds and hands them back.
    pub fn take_cloexec(&mut self) -> Vec<(i32, FdEntry)> {
        let doomed: Vec<i32> = self
            .fds
            .iter()
            .filter(|(_, e)| matches!(e, FdEntry::Virtual { cloexec: true, .. }))
            .map(|(&fd, _)| fd)
            .collect();
        doomed
            .into_iter()
            .filter_map(|fd| self.fds.remove(&fd).map(|e| (fd, e)))
            .collect()
    }

    /// Puts back fds from [`FdTable::take_cloexec`] (a failed exec), where
    /// their numbers are still free.
    pub fn restore(&mut self, taken: Vec<(i32, FdEntry)>) {
        for (fd, entry) in taken {
            self.fds.entry(fd).or_insert(entry);
        }
    }
}

/// An in-memory pipe. Writes never block (the buffer grows); reads return
/// what is there, 0 at end of file, or wait up to [`PIPE_WAIT`].
pub struct Pipe {
    state: Mutex<PipeState>,
    ready: Condvar,
}

struct PipeState {
    bytes: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

/// One end of a pipe; dropping the last description holding it closes it.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    writer: bool,
}

impl PipeEnd {
    /// A new pipe's read and write ends.
    pub fn pair() -> (PipeEnd, PipeEnd) {
        let pipe = Arc::new(Pipe {
            state: Mutex::new(PipeState {
                bytes: VecDeque::new(),
                readers: 1,
                writers: 1,
            }),
            ready: Condvar::new(),
        });
        let reader = PipeEnd {
            pipe: Arc::clone(&pipe),
            writer: false,
        };
        (reader, PipeEnd { pipe, writer: true })
    }

    /// Up to `max` bytes.
    pub fn read(&self, max: usize, nonblocking: bool) -> Result<Vec<u8>, Errno> {
        let mut state = lock(&self.pipe.state);
        loop {
            if !state.bytes.is_empty() || max == 0 {
                let n = max.min(state.bytes.len());
                return Ok(state.bytes.drain(..n).collect());
            }
            if state.writers == 0 {
                return Ok(Vec::new());
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            let (next, waited) = self
                .pipe
                .ready
                .wait_timeout(state, PIPE_WAIT)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state = next;
            if waited.timed_out() && state.bytes.is_empty() && state.writers > 0 {
                return Err(Errno::EAGAIN);
            }
        }
    }

    /// Appends `data`; EPIPE when no reader is left.
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let mut state = lock(&self.pipe.state);
        if state.readers == 0 {
            return Err(Errno::EPIPE);
        }
        state.bytes.extend(data);
        self.pipe.ready.notify_all();
        Ok(data.len())
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut state = lock(&self.pipe.state);
        if self.writer {
            state.writers -= 1;
        } else {
            state.readers -= 1;
        }
        self.pipe.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_entry(cloexec: bool) -> FdEntry {
        FdEntry::Virtual {
            desc: Desc::new(Open::File(9), 0),
            cloexec,
        }
    }

    #[test]
    fn virtual_fds_start_at_three_and_fill_holes() {
        let mut t = FdTable::with_stdio();
        assert_eq!(t.insert_lowest(0, file_entry(false)), Ok(3));
        assert_eq!(t.insert_lowest(0, file_entry(false)), Ok(4));
        t.remove(3);
        assert_eq!(t.lowest_free(0), Ok(3));
        assert_eq!(t.lowest_free(10), Ok(10));
        assert!(matches!(t.get(1), Some(FdEntry::Passthrough)));
    }

    #[test]
    fn exec_takes_cloexec_fds_and_a_failed_exec_restores_them() {
        let mut t = FdTable::with_stdio();
        t.insert(3, file_entry(true));
        t.insert(4, file_entry(false));
        let taken = t.take_cloexec();
        assert_eq!(taken.len(), 1);
        assert!(t.get(3).is_none() && t.get(4).is_some());
        t.restore(taken);
        assert!(t.get(3).is_some());
    }

    #[test]
    fn pipes_deliver_then_report_eof_and_broken_pipe() {
        let (r, w) = PipeEnd::pair();
        assert_eq!(w.write(b"abc"), Ok(3));
        assert_eq!(r.read(2, false).unwrap(), b"ab");
        assert_eq!(r.read(9, true).unwrap(), b"c");
        assert_eq!(r.read(9, true), Err(Errno::EAGAIN));
        drop(w);
        assert_eq!(r.read(9, false).unwrap(), b"");
        let (r, w) = PipeEnd::pair();
        drop(r);
        assert_eq!(w.write(b"x"), Err(Errno::EPIPE));
    }

    #[test]
    fn a_blocked_reader_wakes_when_data_arrives() {
        let (r, w) = PipeEnd::pair();
        let reader = std::thread::spawn(move || r.read(8, false));
        std::thread::sleep(Duration::from_millis(20));
        w.write(b"late").unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), b"late");
    }
}
