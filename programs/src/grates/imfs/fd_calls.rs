//! imfs calls that create, copy or drop fds: open, openat, creat, close,
//! dup*, fcntl, pipe*, and exec's close-on-exec sweep.

use super::fds::{Desc, FdEntry, Open, PipeEnd, MAX_FD};
use super::{AtTarget, FdTarget, Imfs};
use crate::kit::{call_as, forward, lock, write_out};
use boundary::consts::fcntl_cmd::{
    FD_CLOEXEC, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL,
};
use boundary::consts::open_flags::{
    O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_NONBLOCK, O_RDONLY, O_TRUNC,
    O_WRONLY,
};
use boundary::{nr, Args, CageId, Errno, ThreeI};

/// The open flags a description keeps (F_GETFL shows them).
const KEPT_FLAGS: i32 = O_ACCMODE | O_APPEND | O_NONBLOCK;
/// The flags F_SETFL may change.
const SETFL_FLAGS: i32 = O_APPEND | O_NONBLOCK;

impl Imfs {
    /// open(path, flags, mode), openat(dirfd, path, flags, mode), creat(path, mode).
    pub(super) fn open(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        caller: CageId,
        args: &Args,
    ) -> Result<i32, Errno> {
        let (path, flags, mode) = match nr {
            nr::OPENAT => match self.path_at(rt, caller, args[0].as_i32(), args[1])? {
                AtTarget::Forward => return Ok(forward(rt, nr, args)),
                AtTarget::Path(path) => (path, args[2].as_i32(), args[3].value as u32),
            },
            nr::CREAT => (
                self.path(rt, caller, args[0])?,
                O_CREAT | O_WRONLY | O_TRUNC,
                args[1].value as u32,
            ),
            _ => (
                self.path(rt, caller, args[0])?,
                args[1].as_i32(),
                args[2].value as u32,
            ),
        };
        let open = self.open_node(&path, flags, mode)?;
        let entry = FdEntry::Virtual {
            desc: Desc::new(open, flags & KEPT_FLAGS),
            cloexec: flags & O_CLOEXEC != 0,
        };
        self.cages.with(caller, |c| c.fds.insert_lowest(0, entry))
    }

    /// Finds or creates the node an open names, applying O_EXCL and O_TRUNC.
    fn open_node(&self, path: &[String], flags: i32, mode: u32) -> Result<Open, Errno> {
        let mut tree = lock(&self.tree);
        let writable = flags & O_ACCMODE != O_RDONLY;
        let ino = match tree.lookup(path) {
            Ok(_) if flags & O_CREAT != 0 && flags & O_EXCL != 0 => return Err(Errno::EEXIST),
            Ok(ino) => ino,
            Err(Errno::ENOENT) if flags & O_CREAT != 0 => tree.create_file(path, mode)?,
            Err(errno) => return Err(errno),
        };
        if tree.is_dir(ino) {
            if writable || flags & O_CREAT != 0 {
                return Err(Errno::EISDIR);
            }
            return Ok(Open::Dir {
                ino,
                path: path.to_vec(),
            });
        }
        if flags & O_DIRECTORY != 0 {
            return Err(Errno::ENOTDIR);
        }
        if flags & O_TRUNC != 0 && writable {
            tree.truncate(ino, 0)?;
        }
        Ok(Open::File(ino))
    }

    /// close(fd): an imfs fd is dropped; any other fd is closed below.
    pub(super) fn close(&self, rt: &dyn ThreeI, caller: CageId, args: &Args) -> i32 {
        let fd = args[0].as_i32();
        match self.cages.with(caller, |c| c.fds.remove(fd)) {
            Some(FdEntry::Virtual { .. }) => 0,
            _ => forward(rt, nr::CLOSE, args),
        }
    }

    /// dup(old), dup2(old, new), dup3(old, new, flags).
    pub(super) fn dup(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        caller: CageId,
        args: &Args,
    ) -> Result<i32, Errno> {
        let old = args[0].as_i32();
        let new = args[1].as_i32();
        let cloexec = match nr {
            nr::DUP3 if old == new => return Err(Errno::EINVAL),
            nr::DUP3 if args[2].as_i32() & !O_CLOEXEC != 0 => return Err(Errno::EINVAL),
            nr::DUP3 => args[2].as_i32() & O_CLOEXEC != 0,
            _ => false,
        };
        let desc = match self.fd(caller, old) {
            FdTarget::Virtual(desc) => desc,
            FdTarget::Forward => {
                let ret = forward(rt, nr, args);
                if ret >= 0 {
                    self.note_real_fd(caller, ret, nr != nr::DUP);
                }
                return Ok(ret);
            }
        };
        let entry = FdEntry::Virtual { desc, cloexec };
        if nr == nr::DUP {
            return self.cages.with(caller, |c| c.fds.insert_lowest(0, entry));
        }
        if !(0..MAX_FD).contains(&new) {
            return Err(Errno::EBADF);
        }
        if old == new {
            return Ok(new);
        }
        let replaced = self.cages.with(caller, |c| c.fds.insert(new, entry));
        if let Some(FdEntry::Passthrough) = replaced {
            // dup2 closes what `new` was; below, that was a real fd.
            call_as(rt, nr::CLOSE, caller, &[new as u64]);
        }
        Ok(new)
    }

    /// Records a real fd a forwarded call created, so imfs never hands out
    /// its number. `replace`: the call (dup2, dup3) chose the number, so an
    /// imfs fd there is gone; otherwise the number was free below and an imfs
    /// fd keeps it (the two tables cannot agree on it; imfs wins).
    fn note_real_fd(&self, caller: CageId, fd: i32, replace: bool) {
        let dropped = self.cages.with(caller, |c| {
            if replace || c.fds.get(fd).is_none() {
                c.fds.insert(fd, FdEntry::Passthrough)
            } else {
                None
            }
        });
        drop(dropped);
    }

    /// fcntl(fd, cmd, arg): dups, FD_CLOEXEC, and the O_APPEND/O_NONBLOCK flags.
    pub(super) fn fcntl(&self, rt: &dyn ThreeI, caller: CageId, args: &Args) -> Result<i32, Errno> {
        let (fd, cmd, arg) = (args[0].as_i32(), args[1].as_i32(), args[2].value as i64);
        let desc = match self.fd(caller, fd) {
            FdTarget::Virtual(desc) => desc,
            FdTarget::Forward => {
                let ret = forward(rt, nr::FCNTL, args);
                if ret >= 0 && matches!(cmd, F_DUPFD | F_DUPFD_CLOEXEC) {
                    self.note_real_fd(caller, ret, false);
                }
                return Ok(ret);
            }
        };
        match cmd {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                let min = i32::try_from(arg)
                    .ok()
                    .filter(|m| (0..MAX_FD).contains(m))
                    .ok_or(Errno::EINVAL)?;
                let entry = FdEntry::Virtual {
                    desc,
                    cloexec: cmd == F_DUPFD_CLOEXEC,
                };
                self.cages.with(caller, |c| c.fds.insert_lowest(min, entry))
            }
            F_GETFD | F_SETFD => self.cages.with(caller, |c| match c.fds.get_mut(fd) {
                Some(FdEntry::Virtual { cloexec, .. }) if cmd == F_GETFD => {
                    Ok(if *cloexec { FD_CLOEXEC } else { 0 })
                }
                Some(FdEntry::Virtual { cloexec, .. }) => {
                    *cloexec = arg as i32 & FD_CLOEXEC != 0;
                    Ok(0)
                }
                _ => Err(Errno::EBADF),
            }),
            F_GETFL => Ok(lock(&desc.state).flags),
            F_SETFL => {
                let mut state = lock(&desc.state);
                state.flags = (state.flags & !SETFL_FLAGS) | (arg as i32 & SETFL_FLAGS);
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// pipe(fds), pipe2(fds, flags): an in-memory pipe.
    pub(super) fn pipe(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        caller: CageId,
        args: &Args,
    ) -> Result<i32, Errno> {
        let flags = if nr == nr::PIPE2 { args[1].as_i32() } else { 0 };
        if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        let (reader, writer) = PipeEnd::pair();
        let status = flags & O_NONBLOCK;
        let cloexec = flags & O_CLOEXEC != 0;
        let read_entry = FdEntry::Virtual {
            desc: Desc::new(Open::PipeRead(reader), O_RDONLY | status),
            cloexec,
        };
        let write_entry = FdEntry::Virtual {
            desc: Desc::new(Open::PipeWrite(writer), O_WRONLY | status),
            cloexec,
        };
        let (rd, wr) = self.cages.with(caller, |c| {
            let rd = c.fds.insert_lowest(0, read_entry)?;
            match c.fds.insert_lowest(0, write_entry) {
                Ok(wr) => Ok((rd, wr)),
                Err(errno) => {
                    c.fds.remove(rd);
                    Err(errno)
                }
            }
        })?;
        let mut pair = [0u8; 8];
        pair[..4].copy_from_slice(&rd.to_le_bytes());
        pair[4..].copy_from_slice(&wr.to_le_bytes());
        if let Err(errno) = write_out(rt, args[0], &pair) {
            let dropped = self
                .cages
                .with(caller, |c| (c.fds.remove(rd), c.fds.remove(wr)));
            drop(dropped);
            return Err(errno);
        }
        Ok(0)
    }

    /// execve: close-on-exec fds are dropped before forwarding (a runtime
    /// may never return from a successful exec) and put back if it fails.
    pub(super) fn exec(&self, rt: &dyn ThreeI, caller: CageId, args: &Args) -> i32 {
        let taken = self.cages.with(caller, |c| c.fds.take_cloexec());
        let ret = forward(rt, nr::EXECVE, args);
        if ret < 0 {
            self.cages.with(caller, |c| c.fds.restore(taken));
        }
        ret
    }
}
