//! Open file descriptions: what an fd points to, shared by dup and fork.
//!
//! Host files and directories are real host fds; pipes are in-process
//! (see [`super::pipe`]); cage 1's stdio is the host's or a capture buffer.

use super::pipe::{ReadEnd, WriteEnd};
use super::statconv::{stat_of, synthetic};
use crate::cage::lock;
use crate::runtime::Inner;
use boundary::consts::open_flags::{O_ACCMODE, O_APPEND, O_NONBLOCK, O_RDONLY, O_WRONLY};
use boundary::dirent::{DirEntry, DT_DIR, DT_LNK, DT_REG, DT_UNKNOWN};
use boundary::stat::{Stat, S_IFCHR, S_IFIFO};
use boundary::Errno;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, FileExt, MetadataExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

/// The errno an I/O error carries.
pub(crate) fn errno(err: std::io::Error) -> Errno {
    Errno::from_io(&err)
}

/// What an open file description is.
pub(crate) enum Kind {
    File(File),
    Dir(File),
    PipeRead(ReadEnd),
    PipeWrite(WriteEnd),
    HostStdin,
    HostStdout,
    HostStderr,
    Capture(Arc<Mutex<Vec<u8>>>),
    EmptyInput,
}

/// A directory stream's position: a snapshot taken at the first read.
#[derive(Default)]
struct DirCursor {
    entries: Option<Vec<DirEntry>>,
    next: usize,
}

/// One open file description.
pub(crate) struct OpenFile {
    kind: Kind,
    /// Access mode plus O_APPEND and O_NONBLOCK, as F_GETFL shows them.
    flags: AtomicI32,
    /// Whether the host file itself was opened with O_APPEND.
    host_append: bool,
    /// Where it was opened: lindfs path (for fchdir and *at) and host path.
    pub(crate) lind_path: Option<String>,
    host_path: Option<PathBuf>,
    dir: Mutex<DirCursor>,
}

impl OpenFile {
    fn new(kind: Kind, flags: i32) -> OpenFile {
        OpenFile {
            kind,
            flags: AtomicI32::new(flags),
            host_append: false,
            lind_path: None,
            host_path: None,
            dir: Mutex::default(),
        }
    }

    pub(crate) fn host_stdin() -> OpenFile {
        OpenFile::new(Kind::HostStdin, O_RDONLY)
    }
    pub(crate) fn host_stdout() -> OpenFile {
        OpenFile::new(Kind::HostStdout, O_WRONLY)
    }
    pub(crate) fn host_stderr() -> OpenFile {
        OpenFile::new(Kind::HostStderr, O_WRONLY)
    }
    pub(crate) fn empty_input() -> OpenFile {
        OpenFile::new(Kind::EmptyInput, O_RDONLY)
    }
    pub(crate) fn capture(buf: Arc<Mutex<Vec<u8>>>) -> OpenFile {
        OpenFile::new(Kind::Capture(buf), O_WRONLY)
    }
    pub(crate) fn pipe_ends(read: ReadEnd, write: WriteEnd, extra: i32) -> (OpenFile, OpenFile) {
        (
            OpenFile::new(Kind::PipeRead(read), O_RDONLY | extra),
            OpenFile::new(Kind::PipeWrite(write), O_WRONLY | extra),
        )
    }

    /// An opened host file or directory.
    pub(crate) fn host(
        file: File,
        flags: i32,
        lind: String,
        host: PathBuf,
    ) -> Result<OpenFile, Errno> {
        let is_dir = file.metadata().map_err(errno)?.is_dir();
        let kind = if is_dir {
            Kind::Dir(file)
        } else {
            Kind::File(file)
        };
        let mut open = OpenFile::new(kind, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
        open.host_append = flags & O_APPEND != 0;
        open.lind_path = Some(lind);
        open.host_path = Some(host);
        Ok(open)
    }

    pub(crate) fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// F_SETFL: only O_APPEND and O_NONBLOCK change, as on Linux.
    pub(crate) fn set_flags(&self, flags: i32) {
        let keep = self.flags() & O_ACCMODE;
        self.flags
            .store(keep | (flags & (O_APPEND | O_NONBLOCK)), Ordering::Relaxed);
    }

    fn nonblock(&self) -> bool {
        self.flags() & O_NONBLOCK != 0
    }

    pub(crate) fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir(_))
    }

    pub(crate) fn file(&self) -> Option<&File> {
        match &self.kind {
            Kind::File(f) | Kind::Dir(f) => Some(f),
            _ => None,
        }
    }

    pub(crate) fn read(&self, out: &mut [u8], inner: &Inner) -> Result<usize, Errno> {
        match &self.kind {
            Kind::File(f) => {
                let mut f = f;
                f.read(out).map_err(errno)
            }
            Kind::Dir(_) => Err(Errno::EISDIR),
            Kind::PipeRead(p) => p.read(out, self.nonblock(), inner),
            Kind::HostStdin => std::io::stdin().read(out).map_err(errno),
            Kind::EmptyInput => Ok(0),
            Kind::PipeWrite(_) | Kind::HostStdout | Kind::HostStderr | Kind::Capture(_) => {
                Err(Errno::EBADF)
            }
        }
    }

    pub(crate) fn write(&self, data: &[u8], inner: &Inner) -> Result<usize, Errno> {
        match &self.kind {
            Kind::File(f) => {
                let mut f = f;
                // F_SETFL can turn O_APPEND on; the host fd cannot follow
                // without libc, so append by seeking first.
                if self.flags() & O_APPEND != 0 && !self.host_append {
                    f.seek(SeekFrom::End(0)).map_err(errno)?;
                }
                f.write(data).map_err(errno)
            }
            Kind::PipeWrite(p) => p.write(data, self.nonblock(), inner),
            Kind::HostStdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(data)
                    .and_then(|()| out.flush())
                    .map_err(errno)?;
                Ok(data.len())
            }
            Kind::HostStderr => {
                std::io::stderr().write_all(data).map_err(errno)?;
                Ok(data.len())
            }
            Kind::Capture(buf) => {
                lock(buf).extend_from_slice(data);
                Ok(data.len())
            }
            Kind::Dir(_) | Kind::PipeRead(_) | Kind::HostStdin | Kind::EmptyInput => {
                Err(Errno::EBADF)
            }
        }
    }

    pub(crate) fn pread(&self, out: &mut [u8], off: u64) -> Result<usize, Errno> {
        match &self.kind {
            Kind::File(f) => f.read_at(out, off).map_err(errno),
            Kind::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::ESPIPE),
        }
    }

    pub(crate) fn pwrite(&self, data: &[u8], off: u64) -> Result<usize, Errno> {
        match &self.kind {
            Kind::File(f) => f.write_at(data, off).map_err(errno),
            Kind::Dir(_) => Err(Errno::EBADF),
            _ => Err(Errno::ESPIPE),
        }
    }

    pub(crate) fn seek(&self, off: i64, whence: i32) -> Result<u64, Errno> {
        let pos = match whence {
            0 => SeekFrom::Start(u64::try_from(off).map_err(|_| Errno::EINVAL)?),
            1 => SeekFrom::Current(off),
            2 => SeekFrom::End(off),
            _ => return Err(Errno::EINVAL),
        };
        match &self.kind {
            Kind::File(f) => {
                let mut f = f;
                f.seek(pos).map_err(errno)
            }
            Kind::Dir(_) => self.seek_dir(pos),
            _ => Err(Errno::ESPIPE),
        }
    }

    /// A directory's offset is the number of entries already returned.
    fn seek_dir(&self, pos: SeekFrom) -> Result<u64, Errno> {
        let mut cur = lock(&self.dir);
        match pos {
            SeekFrom::Start(n) => {
                if n == 0 {
                    cur.entries = None; // rewinddir sees new entries
                }
                cur.next = n as usize;
            }
            SeekFrom::Current(0) => {}
            _ => return Err(Errno::EINVAL),
        }
        Ok(cur.next as u64)
    }

    pub(crate) fn stat(&self) -> Result<Stat, Errno> {
        match &self.kind {
            Kind::File(f) | Kind::Dir(f) => f.metadata().map(|m| stat_of(&m)).map_err(errno),
            Kind::PipeRead(_) | Kind::PipeWrite(_) => Ok(synthetic(S_IFIFO | 0o600)),
            _ => Ok(synthetic(S_IFCHR | 0o620)),
        }
    }

    /// The next `linux_dirent64` records that fit in `cap` bytes.
    pub(crate) fn getdents(&self, cap: usize) -> Result<Vec<u8>, Errno> {
        let (Kind::Dir(dir), Some(path)) = (&self.kind, &self.host_path) else {
            return Err(Errno::ENOTDIR);
        };
        let mut cur = lock(&self.dir);
        if cur.entries.is_none() {
            cur.entries = Some(list_dir(dir, path)?);
        }
        let entries = cur.entries.as_deref().unwrap_or_default();
        let rest = entries.get(cur.next..).unwrap_or_default();
        let (bytes, fitted) = boundary::dirent::encode_dirents_at(rest, cap, cur.next as i64);
        if fitted == 0 && !rest.is_empty() {
            return Err(Errno::EINVAL); // buffer too small for one record
        }
        cur.next += fitted;
        Ok(bytes)
    }
}

/// ".", ".." and the directory's entries, sorted by name so runs repeat.
fn list_dir(dir: &File, path: &std::path::Path) -> Result<Vec<DirEntry>, Errno> {
    let me = dir.metadata().map_err(errno)?;
    let parent_ino = std::fs::metadata(path.join("..")).map_or(me.ino(), |m| m.ino());
    let mut out = vec![
        DirEntry {
            ino: me.ino(),
            kind: DT_DIR,
            name: b".".to_vec(),
        },
        DirEntry {
            ino: parent_ino,
            kind: DT_DIR,
            name: b"..".to_vec(),
        },
    ];
    let mut rest = Vec::new();
    for entry in std::fs::read_dir(path).map_err(errno)? {
        let entry = entry.map_err(errno)?;
        let kind = match entry.file_type() {
            Ok(t) if t.is_dir() => DT_DIR,
            Ok(t) if t.is_file() => DT_REG,
            Ok(t) if t.is_symlink() => DT_LNK,
            _ => DT_UNKNOWN,
        };
        rest.push(DirEntry {
            ino: entry.ino(),
            kind,
            name: entry.file_name().as_bytes().to_vec(),
        });
    }
    rest.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(rest);
    Ok(out)
}
