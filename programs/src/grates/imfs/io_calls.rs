//! imfs calls on an fd's contents: read/write and their positional and
//! vectored forms, lseek, fstat, ftruncate, fsync, getdents.
//!
//! Lock order everywhere: a description's state, then the tree. Bytes are
//! copied to and from the caller with no lock held.

use super::fds::{Desc, Open};
use super::tree::MAX_FILE;
use super::{FdTarget, Imfs};
use crate::kit::{forward, gather, iovecs_len, lock, read_in, read_iovecs, scatter, write_out};
use boundary::consts::open_flags::{O_APPEND, O_NONBLOCK};
use boundary::dirent::encode_dirents_at;
use boundary::stat::{Stat, S_IFIFO};
use boundary::{nr, Args, CageId, Errno, ThreeI};

/// Most bytes one call moves: a larger count is served short, as POSIX
/// allows, instead of allocating whatever a stray length asks for.
const MAX_IO: usize = 16 << 20;

const SEEK_SET: i32 = 0;
const SEEK_CUR: i32 = 1;
const SEEK_END: i32 = 2;
/// lseek's "offset does not fit the result".
const EOVERFLOW: Errno = Errno::EOVERFLOW;

fn io_len(count: u64) -> usize {
    usize::try_from(count).unwrap_or(usize::MAX).min(MAX_IO)
}

/// A positional offset argument; negative is EINVAL.
fn offset_arg(value: u64) -> Result<u64, Errno> {
    u64::try_from(value as i64).map_err(|_| Errno::EINVAL)
}

impl Imfs {
    pub(super) fn io(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        caller: CageId,
        args: &Args,
    ) -> Result<i32, Errno> {
        let FdTarget::Virtual(desc) = self.fd(caller, args[0].as_i32()) else {
            return Ok(forward(rt, nr, args));
        };
        let done = match nr {
            nr::READ => {
                let data = self.read_desc(&desc, io_len(args[2].value))?;
                write_out(rt, args[1], &data)?;
                data.len()
            }
            nr::WRITE => {
                let data = read_in(rt, args[1], io_len(args[2].value))?;
                self.write_desc(&desc, &data)?
            }
            nr::PREAD => {
                let ino = Self::seekable_file(&desc)?;
                if !desc.readable() {
                    return Err(Errno::EBADF);
                }
                let off = offset_arg(args[3].value)?;
                let data = lock(&self.tree).read_at(ino, off, io_len(args[2].value))?;
                write_out(rt, args[1], &data)?;
                data.len()
            }
            nr::PWRITE => {
                let ino = Self::seekable_file(&desc)?;
                if !desc.writable() {
                    return Err(Errno::EBADF);
                }
                let off = offset_arg(args[3].value)?;
                let data = read_in(rt, args[1], io_len(args[2].value))?;
                lock(&self.tree).write_at(ino, off, &data)?;
                data.len()
            }
            nr::READV => {
                let iovs = read_iovecs(rt, args[1], args[2].value)?;
                let data = self.read_desc(&desc, io_len(iovecs_len(&iovs)))?;
                scatter(rt, args[1], &iovs, &data)?;
                data.len()
            }
            _ => {
                let iovs = read_iovecs(rt, args[1], args[2].value)?;
                let data = gather(rt, args[1], &iovs, MAX_IO)?;
                self.write_desc(&desc, &data)?
            }
        };
        i32::try_from(done).map_err(|_| Errno::EINVAL)
    }

    /// The inode of a regular file for a positional call; ESPIPE for pipes.
    fn seekable_file(desc: &Desc) -> Result<u64, Errno> {
        match desc.open {
            Open::File(ino) => Ok(ino),
            Open::Dir { .. } => Err(Errno::EISDIR),
            Open::PipeRead(_) | Open::PipeWrite(_) => Err(Errno::ESPIPE),
        }
    }

    /// Reads at the description's offset and advances it.
    fn read_desc(&self, desc: &Desc, max: usize) -> Result<Vec<u8>, Errno> {
        match &desc.open {
            Open::File(ino) => {
                if !desc.readable() {
                    return Err(Errno::EBADF);
                }
                let mut state = lock(&desc.state);
                let data = lock(&self.tree).read_at(*ino, state.offset, max)?;
                state.offset += data.len() as u64;
                Ok(data)
            }
            Open::Dir { .. } => Err(Errno::EISDIR),
            Open::PipeRead(end) => {
                let nonblocking = lock(&desc.state).flags & O_NONBLOCK != 0;
                end.read(max, nonblocking)
            }
            Open::PipeWrite(_) => Err(Errno::EBADF),
        }
    }

    /// Writes at the description's offset (or the end, with O_APPEND).
    fn write_desc(&self, desc: &Desc, data: &[u8]) -> Result<usize, Errno> {
        match &desc.open {
            Open::File(ino) => {
                if !desc.writable() {
                    return Err(Errno::EBADF);
                }
                let mut state = lock(&desc.state);
                let mut tree = lock(&self.tree);
                let at = if state.flags & O_APPEND != 0 {
                    tree.size(*ino)
                } else {
                    state.offset
                };
                state.offset = tree.write_at(*ino, at, data)?;
                Ok(data.len())
            }
            Open::PipeWrite(end) => end.write(data),
            Open::Dir { .. } | Open::PipeRead(_) => Err(Errno::EBADF),
        }
    }

    /// lseek, fstat, ftruncate, fsync.
    pub(super) fn fd_meta(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        caller: CageId,
        args: &Args,
    ) -> Result<i32, Errno> {
        let FdTarget::Virtual(desc) = self.fd(caller, args[0].as_i32()) else {
            return Ok(forward(rt, nr, args));
        };
        match nr {
            nr::LSEEK => self.lseek(&desc, args[1].value as i64, args[2].as_i32()),
            nr::FSTAT => {
                let stat = self.stat_desc(&desc)?;
                write_out(rt, args[1], &stat.encode())?;
                Ok(0)
            }
            nr::FTRUNCATE => {
                let len = offset_arg(args[1].value)?;
                match desc.open {
                    Open::File(ino) if desc.writable() => lock(&self.tree).truncate(ino, len)?,
                    _ => return Err(Errno::EINVAL),
                }
                Ok(0)
            }
            _ => Ok(0),
        }
    }

    fn lseek(&self, desc: &Desc, off: i64, whence: i32) -> Result<i32, Errno> {
        let mut state = lock(&desc.state);
        let base = match (&desc.open, whence) {
            (Open::PipeRead(_) | Open::PipeWrite(_), _) => return Err(Errno::ESPIPE),
            // A directory can only be rewound.
            (Open::Dir { .. }, SEEK_SET) if off == 0 => 0,
            (Open::Dir { .. }, _) => return Err(Errno::EINVAL),
            (_, SEEK_SET) => 0,
            (_, SEEK_CUR) => state.offset as i64,
            (Open::File(ino), SEEK_END) => lock(&self.tree).size(*ino) as i64,
            _ => return Err(Errno::EINVAL),
        };
        let at = base.checked_add(off).ok_or(Errno::EINVAL)?;
        if at < 0 || at as u64 > MAX_FILE {
            return Err(Errno::EINVAL);
        }
        // Results are 32-bit on Lind (docs/lind-3i.md §2.4).
        let ret = i32::try_from(at).map_err(|_| EOVERFLOW)?;
        state.offset = at as u64;
        Ok(ret)
    }

    pub(super) fn stat_desc(&self, desc: &Desc) -> Result<Stat, Errno> {
        match &desc.open {
            Open::File(ino) | Open::Dir { ino, .. } => lock(&self.tree).stat(*ino),
            Open::PipeRead(_) | Open::PipeWrite(_) => Ok(Stat {
                mode: S_IFIFO | 0o600,
                nlink: 1,
                blksize: 4096,
                ..Stat::default()
            }),
        }
    }

    /// getdents / getdents64: linux_dirent64 records from the entry the
    /// description has reached (its offset counts entries).
    pub(super) fn getdents(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        caller: CageId,
        args: &Args,
    ) -> Result<i32, Errno> {
        let FdTarget::Virtual(desc) = self.fd(caller, args[0].as_i32()) else {
            return Ok(forward(rt, nr, args));
        };
        let Open::Dir { ino, .. } = desc.open else {
            return Err(Errno::ENOTDIR);
        };
        let cap = io_len(args[2].value);
        let state = lock(&desc.state);
        let entries = lock(&self.tree).list(ino)?;
        let from = usize::try_from(state.offset)
            .unwrap_or(usize::MAX)
            .min(entries.len());
        let (bytes, fitted) = encode_dirents_at(&entries[from..], cap, from as i64);
        if fitted == 0 && from < entries.len() {
            return Err(Errno::EINVAL);
        }
        drop(state);
        write_out(rt, args[1], &bytes)?;
        lock(&desc.state).offset = (from + fitted) as u64;
        i32::try_from(bytes.len()).map_err(|_| Errno::EINVAL)
    }
}
