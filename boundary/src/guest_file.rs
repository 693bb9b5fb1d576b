//! A file opened through the guest libc, as `std::io::Read` and `Write`.
//!
//! On Lind a grate cannot use `std::fs` (docs/lind-3i.md §15); its files go through
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

/// Whether `path` is a FIFO or a character device (not followed if a
/// symlink).
fn is_stream(guest: &Guest<'_>, path: &str) -> bool {
    use crate::stat::{S_IFCHR, S_IFIFO, S_IFMT};
    guest
        .lstat(path)
        .is_ok_and(|st| matches!(st.mode & S_IFMT, S_IFIFO | S_IFCHR))
}

fn io_error(errno: Errno) -> io::Error {
    io::Error::from_raw_os_error(errno.get())
}

/// Why [`GuestFile::create_output`] made no file.
#[derive(Debug)]
pub struct OutputError {
    /// The path as the user gave it.
    pub path: String,
    pub why: OutputFailure,
}

/// What went wrong making an output file.
#[derive(Debug)]
pub enum OutputFailure {
    /// `--force` could not remove what was there.
    Replace(Errno),
    /// Something is there and `--force` was not given.
    Exists,
    /// Creating it failed.
    Create(io::Error),
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = &self.path;
        match &self.why {
            OutputFailure::Replace(e) => write!(f, "{path}: cannot replace it: {e}"),
            OutputFailure::Exists => write!(f, "{path}: exists; give --force to replace it"),
            OutputFailure::Create(e) => write!(f, "{path}: cannot create it: {e}"),
        }
    }
}

impl std::error::Error for OutputError {}

impl GuestFile {
    /// Creates an output file of a tool (a trace log, a report) with mode
    /// 0600. An existing `path` is refused, with a line that says so,
    /// unless `force`, which removes it first: a symlink there is removed
    /// itself, never followed, so the output is always a new file. A FIFO
    /// or a character device (`/dev/stdout`) holds no data to lose and is
    /// written as it is.
    /// `stream_flags` are added when an existing FIFO or device is opened.
    pub fn create_output(
        rt: &dyn ThreeI,
        path: &str,
        force: bool,
        stream_flags: i32,
    ) -> Result<GuestFile, OutputError> {
        use crate::consts::open_flags::{O_CLOEXEC, O_CREAT, O_EXCL, O_WRONLY};
        let guest = Guest::new(rt);
        let failed = |why| OutputError {
            path: path.to_owned(),
            why,
        };
        if force && !is_stream(&guest, path) {
            match guest.unlink(path) {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(failed(OutputFailure::Replace(e))),
            }
        }
        // O_EXCL also refuses a symlink, dangling or not.
        let created = GuestFile::open(rt, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600);
        match created {
            Err(e) if Errno::EEXIST.is_in(&e) && is_stream(&guest, path) => {
                GuestFile::open(rt, path, O_WRONLY | O_CLOEXEC | stream_flags, 0)
            }
            Err(e) if Errno::EEXIST.is_in(&e) => {
                return Err(failed(OutputFailure::Exists));
            }
            opened => opened,
        }
        .map_err(|e| failed(OutputFailure::Create(e)))
    }

    /// Removes an output [`create_output`](GuestFile::create_output) made
    /// but could not fill (the disk was full before its first bytes): an
    /// empty log left behind would read as a log that recorded nothing. A
    /// FIFO or device it wrote into is left alone. Whether it was removed.
    pub fn remove_output(rt: &dyn ThreeI, path: &str) -> bool {
        let guest = Guest::new(rt);
        // A failed unlink leaves nothing more to do: the caller reports the
        // write error that brought it here.
        !is_stream(&guest, path) && guest.unlink(path).is_ok()
    }

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
