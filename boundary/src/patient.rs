//! A writer that waits for its reader a bounded time.
//!
//! A log given as a FIFO or a device is opened non-blocking, so a reader
//! that stops reading shows as "no room" rather than as a write that never
//! returns: the writer naps and tries again, and once the reader has taken
//! nothing for the whole patience it gives up on the output for good, so
//! the thread writing (the tee's secondary) can end with the run. What was
//! written before that stays with the reader.

use crate::Errno;
use std::io::{self, Write};
use std::time::Duration;

/// How long the writer naps between tries; the patience counts naps.
pub const NAP: Duration = Duration::from_millis(1);

/// `W`, written patiently. A regular file never says "no room", so it
/// passes through untouched. "No room" is told by its raw errno as well
/// as its kind: a Lind file's Linux errno reads as the wrong kind in wasm.
#[derive(Debug)]
pub struct Patient<W> {
    inner: W,
    patience_ms: u32,
    gave_up: bool,
}

impl<W> Patient<W> {
    /// Wraps `inner`, waiting up to `patience_ms` for room each time.
    pub fn new(inner: W, patience_ms: u32) -> Patient<W> {
        Patient {
            inner,
            patience_ms,
            gave_up: false,
        }
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    fn stalled(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "its reader took nothing for {} ms; the rest is not written",
                self.patience_ms
            ),
        )
    }
}

impl<W: Write> Write for Patient<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.gave_up {
            return Err(self.stalled());
        }
        let mut waited = 0;
        loop {
            match self.inner.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || Errno::EAGAIN.is_in(&e) => {
                    if waited >= self.patience_ms {
                        self.gave_up = true;
                        return Err(self.stalled());
                    }
                    crate::clock::pause(NAP);
                    waited += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted || Errno::EINTR.is_in(&e) => {}
                done => return done,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.gave_up {
            return Err(self.stalled());
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `room` bytes, then says "no room" for ever.
    struct Clogged {
        room: usize,
        taken: Vec<u8>,
        tries: u32,
    }

    impl Write for Clogged {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.tries += 1;
            let n = buf.len().min(self.room - self.taken.len());
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_reader_that_stops_gets_what_fit_and_the_writer_gives_up_for_good() {
        let mut w = Patient::new(
            Clogged {
                room: 5,
                taken: Vec::new(),
                tries: 0,
            },
            3,
        );
        let error = w.write_all(b"0123456789").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(
            error.to_string().contains("took nothing for 3 ms"),
            "{error}"
        );
        assert_eq!(w.get_ref().taken, b"01234");
        // One try that fit, then the first "no room" and three more naps'
        // worth of tries.
        assert_eq!(w.get_ref().tries, 1 + 4);
        let tries = w.get_ref().tries;
        assert!(w.write(b"x").is_err());
        assert!(w.flush().is_err());
        assert_eq!(w.get_ref().tries, tries, "no more tries once given up");
    }

    #[test]
    fn a_writer_with_room_is_untouched() {
        let mut w = Patient::new(Vec::new(), 0);
        w.write_all(b"all of it").unwrap();
        w.flush().unwrap();
        assert_eq!(w.get_ref(), b"all of it");
    }
}
