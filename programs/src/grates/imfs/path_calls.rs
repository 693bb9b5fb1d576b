//! imfs calls on paths: stat, lstat, newfstatat, access, mkdir, rmdir,
//! unlink, unlinkat, rename, truncate, chdir, getcwd.

use super::{AtTarget, FdTarget, Imfs};
use crate::kit::{forward, lock, read_path, write_out};
use crate::paths;
use boundary::consts::AT_REMOVEDIR;
use boundary::{nr, Args, CageId, Errno, ThreeI};

/// newfstatat's "stat the dirfd itself" flag.
const AT_EMPTY_PATH: i32 = 0x1000;

impl Imfs {
    /// stat(path, buf), lstat(path, buf), newfstatat(dirfd, path, buf,
    /// flags), access(path, mode). imfs has no symlinks, so lstat is stat.
    pub(super) fn stat_like(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        caller: CageId,
        args: &Args,
    ) -> Result<i32, Errno> {
        let (path, out) = match nr {
            nr::NEWFSTATAT => {
                let (dirfd, flags) = (args[0].as_i32(), args[3].as_i32());
                if flags & AT_EMPTY_PATH != 0 && read_path(rt, args[1])?.is_empty() {
                    let FdTarget::Virtual(desc) = self.fd(caller, dirfd) else {
                        return Ok(forward(rt, nr, args));
                    };
                    write_out(rt, args[2], &self.stat_desc(&desc)?.encode())?;
                    return Ok(0);
                }
                match self.path_at(rt, caller, dirfd, args[1])? {
                    AtTarget::Forward => return Ok(forward(rt, nr, args)),
                    AtTarget::Path(path) => (path, Some(args[2])),
                }
            }
            nr::STAT | nr::LSTAT => (self.path(rt, caller, args[0])?, Some(args[1])),
            _ => (self.path(rt, caller, args[0])?, None),
        };
        let stat = {
            let tree = lock(&self.tree);
            tree.stat(tree.lookup(&path)?)?
        };
        if let Some(buf) = out {
            write_out(rt, buf, &stat.encode())?;
        }
        Ok(0)
    }

    /// mkdir, rmdir, unlink, unlinkat, rename, truncate.
    pub(super) fn change_tree(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        caller: CageId,
        args: &Args,
    ) -> Result<i32, Errno> {
        match nr {
            nr::MKDIR => {
                let path = self.path(rt, caller, args[0])?;
                lock(&self.tree).mkdir(&path, args[1].value as u32)?;
            }
            nr::RMDIR => lock(&self.tree).rmdir(&self.path(rt, caller, args[0])?)?,
            nr::UNLINK => lock(&self.tree).unlink(&self.path(rt, caller, args[0])?)?,
            nr::UNLINKAT => {
                let path = match self.path_at(rt, caller, args[0].as_i32(), args[1])? {
                    AtTarget::Forward => return Ok(forward(rt, nr, args)),
                    AtTarget::Path(path) => path,
                };
                let mut tree = lock(&self.tree);
                if args[2].as_i32() & AT_REMOVEDIR != 0 {
                    tree.rmdir(&path)?;
                } else {
                    tree.unlink(&path)?;
                }
            }
            nr::RENAME => {
                let from = self.path(rt, caller, args[0])?;
                let to = self.path(rt, caller, args[1])?;
                lock(&self.tree).rename(&from, &to)?;
            }
            _ => {
                let path = self.path(rt, caller, args[0])?;
                let len = u64::try_from(args[1].value as i64).map_err(|_| Errno::EINVAL)?;
                let mut tree = lock(&self.tree);
                let ino = tree.lookup(&path)?;
                tree.truncate(ino, len)?;
            }
        }
        Ok(0)
    }

    /// chdir(path), getcwd(buf, size).
    pub(super) fn cwd_call(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        caller: CageId,
        args: &Args,
    ) -> Result<i32, Errno> {
        if nr == nr::CHDIR {
            let path = self.path(rt, caller, args[0])?;
            let tree = lock(&self.tree);
            if !tree.is_dir(tree.lookup(&path)?) {
                return Err(Errno::ENOTDIR);
            }
            drop(tree);
            self.cages.with(caller, |c| c.cwd = path);
            return Ok(0);
        }
        let cwd = self.cages.with(caller, |c| paths::absolute(&c.cwd));
        let mut bytes = cwd.into_bytes();
        bytes.push(0);
        if (args[1].value as usize) < bytes.len() {
            return Err(Errno::ERANGE);
        }
        write_out(rt, args[0], &bytes)?;
        // RawPOSIX's getcwd returns 0, not a length or a pointer.
        Ok(0)
    }
}
