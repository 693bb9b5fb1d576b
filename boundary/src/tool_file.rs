//! A tool's own file: the trace log `tee-grate --record` writes, the log
//! `tee-replay` reads, a `--report`. On Lind it is a file of the tool's
//! cage, opened through its own table, so it lands in lindfs like any
//! grate's file (a grate cannot use `std::fs`: docs/lind-3i.md §15).
//! Natively it is a host file by the path the user typed, absolute or
//! relative to the shell's directory, as for any command-line tool: only
//! what the cages see keeps lindfs paths under `LIND_ROOT`.

use crate::guest_file::{GuestFile, OutputError, OutputFailure};
use crate::patient::Patient;
use crate::ThreeI;
use std::io;

/// A tool's own file, read or written.
#[derive(Debug)]
pub enum ToolFile {
    /// Through the tool cage's table (Lind).
    Guest(GuestFile),
    /// A host file (the native tools).
    #[cfg(not(target_arch = "wasm32"))]
    Host(std::fs::File),
}

impl ToolFile {
    /// Opens `path` to read.
    pub fn open(rt: &dyn ThreeI, path: &str) -> io::Result<ToolFile> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = rt;
            std::fs::File::open(path).map(ToolFile::Host)
        }
        #[cfg(target_arch = "wasm32")]
        {
            use crate::consts::open_flags::{O_CLOEXEC, O_RDONLY};
            GuestFile::open(rt, path, O_RDONLY | O_CLOEXEC, 0).map(ToolFile::Guest)
        }
    }

    /// Creates an output file with mode 0600, as
    /// [`GuestFile::create_output`] says: an existing file is refused
    /// unless `force`, which removes it (a symlink itself) first; a FIFO or
    /// character device is written as it is.
    pub fn create_output(
        rt: &dyn ThreeI,
        path: &str,
        force: bool,
    ) -> Result<ToolFile, OutputError> {
        Self::create_with(rt, path, force, 0)
    }

    /// Creates a log as [`create_output`](ToolFile::create_output) does,
    /// except that a FIFO or device is opened non-blocking: its reader may
    /// take `patience_ms` to open it and, after that, at most `patience_ms`
    /// each time to make room, before the log gives up on it
    /// ([`Patient`]). A log's reader never holds the tee for ever.
    pub fn create_log(
        rt: &dyn ThreeI,
        path: &str,
        force: bool,
        patience_ms: u32,
    ) -> Result<Patient<ToolFile>, OutputError> {
        use crate::consts::open_flags::O_NONBLOCK;
        let mut waited = 0;
        loop {
            match Self::create_with(rt, path, force, O_NONBLOCK) {
                // A FIFO with no reader yet.
                Err(OutputError {
                    why: OutputFailure::Create(e),
                    ..
                }) if crate::Errno::ENXIO.is_in(&e) && waited < patience_ms => {
                    crate::clock::pause(crate::patient::NAP);
                    waited += 1;
                }
                Err(OutputError {
                    path,
                    why: OutputFailure::Create(e),
                }) if crate::Errno::ENXIO.is_in(&e) => {
                    return Err(OutputError {
                        path,
                        why: OutputFailure::Create(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("nobody opened it for reading within {patience_ms} ms"),
                        )),
                    })
                }
                created => return created.map(|file| Patient::new(file, patience_ms)),
            }
        }
    }

    fn create_with(
        rt: &dyn ThreeI,
        path: &str,
        force: bool,
        stream_flags: i32,
    ) -> Result<ToolFile, OutputError> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = rt;
            host::create_output(path, force, stream_flags).map(ToolFile::Host)
        }
        #[cfg(target_arch = "wasm32")]
        {
            GuestFile::create_output(rt, path, force, stream_flags).map(ToolFile::Guest)
        }
    }

    /// Removes an output [`create_output`](ToolFile::create_output) made
    /// but could not fill; a FIFO or device is left. Whether it was removed.
    pub fn remove_output(rt: &dyn ThreeI, path: &str) -> bool {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = rt;
            !host::is_stream(path) && std::fs::remove_file(path).is_ok()
        }
        #[cfg(target_arch = "wasm32")]
        {
            GuestFile::remove_output(rt, path)
        }
    }
}

impl io::Read for ToolFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ToolFile::Guest(f) => f.read(buf),
            #[cfg(not(target_arch = "wasm32"))]
            ToolFile::Host(f) => f.read(buf),
        }
    }
}

impl io::Write for ToolFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ToolFile::Guest(f) => f.write(buf),
            #[cfg(not(target_arch = "wasm32"))]
            ToolFile::Host(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            ToolFile::Guest(f) => f.flush(),
            #[cfg(not(target_arch = "wasm32"))]
            ToolFile::Host(f) => f.flush(),
        }
    }
}

/// Creates a native tool's output file (tee-log's `-o`, `--svg`) by the
/// one rule every output follows ([`ToolFile::create_output`]): mode
/// 0600, an existing file refused unless `force`, a symlink replaced and
/// never followed, a FIFO or character device written as it is.
#[cfg(not(target_arch = "wasm32"))]
pub fn create_host_output(
    path: &std::path::Path,
    force: bool,
) -> Result<std::fs::File, OutputError> {
    host::create_output(&path.to_string_lossy(), force, 0)
}

/// The host side of the native tools' files.
#[cfg(not(target_arch = "wasm32"))]
mod host {
    use crate::guest_file::{OutputError, OutputFailure};
    use crate::Errno;
    use std::fs::{File, OpenOptions};
    use std::io;

    /// Whether `path` is a FIFO or a character device (not followed).
    pub(super) fn is_stream(path: &str) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            std::fs::symlink_metadata(path)
                .is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_char_device())
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            false
        }
    }

    pub(super) fn create_output(
        path: &str,
        force: bool,
        stream_flags: i32,
    ) -> Result<File, OutputError> {
        let failed = |why| OutputError {
            path: path.to_owned(),
            why,
        };
        if force && !is_stream(path) {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(failed(OutputFailure::Replace(Errno::from_io(&e))))
                }
                _ => {}
            }
        }
        let mut options = OpenOptions::new();
        // create_new also refuses a symlink, dangling or not.
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && is_stream(path) => {
                let mut options = OpenOptions::new();
                options.write(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.custom_flags(stream_flags);
                }
                options.open(path)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(failed(OutputFailure::Exists))
            }
            opened => opened,
        }
        .map_err(|e| failed(OutputFailure::Create(e)))
    }
}
