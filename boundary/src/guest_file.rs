//! A file opened through the guest libc, as `std::io::Read` and `Write`.
//!
//! On Lind a grate cannot use `std::fs` (LIND-3I §15); its files go through
//! its own table like any other call. This adapter lets streaming code (the
//! log writer and reader) work on such a file, from any thread.

use crate::errno::Errno;
use crate::guest::Guest;
use crate::threei::ThreeI;
use std::io;
use std::sync::Arc;

/// An open fd of a cage, closed on drop.
pub struct GuestFile {
    rt: Arc<dyn ThreeI>,
    fd: i32,
}

impl std::fmt::Debug for GuestFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestFile").field("fd", &self.fd).finish()
    }
}

fn io_error(errno: Errno) -> io::Error {
    io::Error::from_raw_os_error(errno.0)
}

impl GuestFile {
    /// Opens `path` with Linux `flags` and `mode` in the cage `rt` stands for.
    pub fn open(rt: &dyn ThreeI, path: &str, flags: i32, mode: u32) -> io::Result<GuestFile> {
        let fd = Guest::new(rt).open(path, flags, mode).map_err(io_error)?;
        Ok(GuestFile {
            rt: rt.detach(),
            fd,
        })
    }

    /// The fd.
    pub fn fd(&self) -> i32 {
        self.fd
    }
}

impl io::Write for GuestFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Guest::new(&*self.rt).write(self.fd, buf).map_err(io_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for GuestFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Guest::new(&*self.rt).read(self.fd, buf).map_err(io_error)
    }
}

impl Drop for GuestFile {
    fn drop(&mut self) {
        let _ = Guest::new(&*self.rt).close(self.fd);
    }
}
