//! In-process pipes with Linux's blocking behaviour.
//!
//! RawPOSIX uses host pipes; these behave the same for cages (64 KiB of
//! buffer, EOF once every write end is closed, EPIPE once every read end
//! is), and a blocked end notices when the run is stopped.

use crate::cage::lock;
use crate::runtime::{Inner, POLL};
use boundary::Errno;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Linux's default pipe capacity.
const CAPACITY: usize = 64 * 1024;

#[derive(Debug)]
struct State {
    buf: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

#[derive(Debug)]
struct Pipe {
    state: Mutex<State>,
    cv: Condvar,
}

impl Pipe {
    fn wait<'a>(&self, guard: MutexGuard<'a, State>, inner: &Inner) -> MutexGuard<'a, State> {
        inner.check_stop();
        self.cv
            .wait_timeout(guard, POLL)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0)
    }
}

/// The read end of a pipe (one open file description).
#[derive(Debug)]
pub(crate) struct ReadEnd(Arc<Pipe>);

/// The write end of a pipe.
#[derive(Debug)]
pub(crate) struct WriteEnd(Arc<Pipe>);

/// A new pipe's two ends.
pub(crate) fn pipe() -> (ReadEnd, WriteEnd) {
    let pipe = Arc::new(Pipe {
        state: Mutex::new(State {
            buf: VecDeque::new(),
            readers: 1,
            writers: 1,
        }),
        cv: Condvar::new(),
    });
    (ReadEnd(pipe.clone()), WriteEnd(pipe))
}

impl ReadEnd {
    /// Reads what is there, blocking until something is or every writer
    /// is gone (0).
    pub(crate) fn read(
        &self,
        out: &mut [u8],
        nonblock: bool,
        inner: &Inner,
    ) -> Result<usize, Errno> {
        if out.is_empty() {
            return Ok(0);
        }
        let mut st = lock(&self.0.state);
        loop {
            if !st.buf.is_empty() {
                let n = out.len().min(st.buf.len());
                for (slot, byte) in out.iter_mut().zip(st.buf.drain(..n)) {
                    *slot = byte;
                }
                self.0.cv.notify_all();
                return Ok(n);
            }
            if st.writers == 0 {
                return Ok(0);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            st = self.0.wait(st, inner);
        }
    }
}

impl WriteEnd {
    /// Writes everything (blocking while full); EPIPE once no reader is left.
    pub(crate) fn write(&self, data: &[u8], nonblock: bool, inner: &Inner) -> Result<usize, Errno> {
        let mut st = lock(&self.0.state);
        let mut done = 0;
        while done < data.len() {
            if st.readers == 0 {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            let space = CAPACITY - st.buf.len();
            if space == 0 {
                if nonblock {
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EAGAIN)
                    };
                }
                st = self.0.wait(st, inner);
                continue;
            }
            let n = space.min(data.len() - done);
            st.buf.extend(&data[done..done + n]);
            done += n;
            self.0.cv.notify_all();
        }
        Ok(done)
    }
}

impl Drop for ReadEnd {
    fn drop(&mut self) {
        lock(&self.0.state).readers -= 1;
        self.0.cv.notify_all();
    }
}

impl Drop for WriteEnd {
    fn drop(&mut self) {
        lock(&self.0.state).writers -= 1;
        self.0.cv.notify_all();
    }
}
