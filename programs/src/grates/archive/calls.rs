//! The archive grate's handlers. Each forwards first, unchanged, and
//! mirrors only what the primary did.
//!
//! A tracked description's lock is held across the forward and the mirror
//! write, so that concurrent writes through one description (threads,
//! forked cages) reach the copy in the order they reached the real file.
//! That is safe: the forward goes down this grate's own table and the
//! mirror I/O too, and neither can route back into this grate.

use super::mirror::Mirror;
use super::tracking::Tracked;
use super::Archive;
use crate::kit::{forward, gather, lock, read_in, read_iovecs};
use boundary::consts::fcntl_cmd::{FD_CLOEXEC, F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, F_SETFL};
use boundary::consts::open_flags::{
    O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY,
};
use boundary::consts::AT_REMOVEDIR;
use boundary::{nr, Args, CageId, Errno, ThreeI};

impl Archive {
    pub(super) fn dispatch(&self, rt: &dyn ThreeI, nr: u32, caller: CageId, args: &Args) -> i32 {
        match nr {
            nr::CLONE => self.cages.forward_clone(rt, caller, args),
            nr::EXECVE => {
                let taken = self.cages.with(caller, |c| c.take_cloexec());
                let ret = forward(rt, nr, args);
                if ret < 0 {
                    self.cages.with(caller, |c| c.restore(taken));
                }
                ret
            }
            nr::OPEN | nr::OPENAT | nr::CREAT => self.open(rt, nr, caller, args),
            nr::CLOSE => {
                let ret = forward(rt, nr, args);
                self.cages.with(caller, |c| c.close(args[0].as_i32()));
                ret
            }
            nr::READ | nr::READV | nr::LSEEK | nr::WRITE | nr::PWRITE | nr::WRITEV => {
                self.through_fd(rt, nr, caller, args)
            }
            nr::DUP | nr::DUP2 | nr::DUP3 | nr::FCNTL => self.dup_or_fcntl(rt, nr, caller, args),
            nr::FTRUNCATE => {
                let ret = forward(rt, nr, args);
                let file = self.cages.with(caller, |c| c.get(args[0].as_i32()));
                if let (0, Some(file)) = (ret, file) {
                    let t = lock(&file);
                    if t.archived() {
                        let _ = Mirror::new(rt, &self.root()).truncate(&t.path, args[1].value);
                    }
                }
                ret
            }
            _ => self.path_call(rt, nr, caller, args),
        }
    }

    /// open, openat, creat: track the new fd; a file opened for writing
    /// gets a copy that starts as the real file is now.
    fn open(&self, rt: &dyn ThreeI, nr: u32, caller: CageId, args: &Args) -> i32 {
        let (path, flags, mode) = match nr {
            nr::OPENAT => (
                self.path_at(rt, caller, args[0].as_i32(), args[1]),
                args[2].as_i32(),
                args[3].value,
            ),
            nr::CREAT => (
                self.path(rt, caller, args[0]),
                O_CREAT | O_WRONLY | O_TRUNC,
                args[1].value,
            ),
            _ => (
                self.path(rt, caller, args[0]),
                args[1].as_i32(),
                args[2].value,
            ),
        };
        let fd = forward(rt, nr, args);
        let Some(path) = path.filter(|_| fd >= 0) else {
            return fd;
        };
        let writable = flags & O_ACCMODE != O_RDONLY;
        if writable {
            let root = self.root();
            let mirror = Mirror::new(rt, &root);
            // The copy starts as the real file is now. When there is no real
            // file to read (a replay, where nothing below the stack is real),
            // the copy this archive has kept so far is the file.
            let content = if flags & O_TRUNC != 0 {
                Ok(Vec::new())
            } else {
                mirror.read_real(&path)
            };
            if let Ok(content) = content {
                let _ = mirror.reset(&path, &content, copy_mode(flags, mode));
            }
        }
        let tracked = Tracked::new(path, writable, flags & O_APPEND != 0);
        self.cages
            .with(caller, |c| c.track(fd, tracked, flags & O_CLOEXEC != 0));
        fd
    }

    /// Calls that move a tracked fd's offset, and the writes that are copied.
    fn through_fd(&self, rt: &dyn ThreeI, nr: u32, caller: CageId, args: &Args) -> i32 {
        let Some(file) = self.cages.with(caller, |c| c.get(args[0].as_i32())) else {
            return forward(rt, nr, args);
        };
        let mut t = lock(&file);
        let ret = forward(rt, nr, args);
        let Ok(moved) = u64::try_from(ret) else {
            return ret;
        };
        match nr {
            nr::LSEEK => t.offset = moved,
            nr::READ | nr::READV => t.offset += moved,
            _ if moved == 0 => {}
            _ => self.copy_write(rt, nr, args, &mut t, moved),
        }
        ret
    }

    /// Writes the `accepted` bytes the primary took to the copy.
    fn copy_write(&self, rt: &dyn ThreeI, nr: u32, args: &Args, t: &mut Tracked, accepted: u64) {
        let len = usize::try_from(accepted).unwrap_or(usize::MAX);
        let advance = |t: &mut Tracked, end: Option<u64>| match (nr, t.append, end) {
            (nr::PWRITE, _, _) => {}
            (_, true, Some(end)) => t.offset = end,
            _ => t.offset += accepted,
        };
        if !t.archived() {
            advance(t, None);
            return;
        }
        let data = match nr {
            nr::WRITEV => read_iovecs(rt, args[1], args[2].value)
                .and_then(|iovs| gather(rt, args[1], &iovs, len)),
            _ => read_in(rt, args[1], len),
        };
        let at = match nr {
            nr::PWRITE => Some(args[3].value),
            _ if t.append => None,
            _ => Some(t.offset),
        };
        let end = data
            .and_then(|data| Mirror::new(rt, &self.root()).write(&t.path, at, &data))
            .ok();
        advance(t, end);
    }

    /// dup, dup2, dup3, fcntl: dups share tracking; flags are followed.
    fn dup_or_fcntl(&self, rt: &dyn ThreeI, nr: u32, caller: CageId, args: &Args) -> i32 {
        let ret = forward(rt, nr, args);
        if ret < 0 {
            return ret;
        }
        let (fd, second) = (args[0].as_i32(), args[1].as_i32());
        match nr {
            nr::DUP | nr::DUP2 if fd != ret => {
                self.cages.with(caller, |c| c.dup_to(fd, ret, false))
            }
            nr::DUP3 => {
                let cloexec = args[2].as_i32() & O_CLOEXEC != 0;
                self.cages.with(caller, |c| c.dup_to(fd, ret, cloexec));
            }
            nr::FCNTL if matches!(second, F_DUPFD | F_DUPFD_CLOEXEC) => {
                let cloexec = second == F_DUPFD_CLOEXEC;
                self.cages.with(caller, |c| c.dup_to(fd, ret, cloexec));
            }
            nr::FCNTL if second == F_SETFD => {
                let cloexec = args[2].as_i32() & FD_CLOEXEC != 0;
                self.cages.with(caller, |c| c.set_cloexec(fd, cloexec));
            }
            nr::FCNTL if second == F_SETFL => {
                if let Some(file) = self.cages.with(caller, |c| c.get(fd)) {
                    lock(&file).append = args[2].as_i32() & O_APPEND != 0;
                }
            }
            _ => {}
        }
        ret
    }

    /// Path calls: forward, then mirror what succeeded.
    fn path_call(&self, rt: &dyn ThreeI, nr: u32, caller: CageId, args: &Args) -> i32 {
        let path = match nr {
            nr::UNLINKAT => self.path_at(rt, caller, args[0].as_i32(), args[1]),
            _ => self.path(rt, caller, args[0]),
        };
        let to = (nr == nr::RENAME)
            .then(|| self.path(rt, caller, args[1]))
            .flatten();
        let ret = forward(rt, nr, args);
        let Some(path) = path.filter(|_| ret == 0) else {
            return ret;
        };
        let root = self.root();
        let mirror = Mirror::new(rt, &root);
        // Mirror failures leave the copy stale but never fail the app.
        let _: Result<(), Errno> = match nr {
            nr::CHDIR => {
                self.cages.with(caller, |c| c.cwd = path);
                Ok(())
            }
            nr::MKDIR => mirror.make_dirs(&path),
            nr::RMDIR => mirror.rmdir(&path),
            nr::UNLINKAT if args[2].as_i32() & AT_REMOVEDIR != 0 => mirror.rmdir(&path),
            nr::UNLINK | nr::UNLINKAT => {
                self.follow(|t| t.detached |= t.path == path);
                mirror.unlink(&path)
            }
            nr::TRUNCATE => mirror.truncate(&path, args[1].value),
            nr::RENAME => match to {
                Some(to) => {
                    self.follow(|t| t.renamed(&path, &to));
                    mirror.rename(&path, &to)
                }
                None => Ok(()),
            },
            _ => Ok(()),
        };
        ret
    }

    /// Applies `f` to every tracked description of every cage.
    fn follow(&self, mut f: impl FnMut(&mut Tracked)) {
        self.cages.for_each(|_, c| c.each_file(&mut f));
    }
}

/// The mode of a file's copy: what the creating open asked for, less the
/// usual umask's group and other write bits; 0600 when the open did not
/// create the file, since its mode is then unknown and a copy must never
/// be more open than the file.
fn copy_mode(flags: i32, mode: u64) -> u32 {
    if flags & O_CREAT != 0 {
        (mode as u32) & 0o777 & !0o022
    } else {
        0o600
    }
}
