//! `archive-grate ARCHIVE_DIR APP [ARGS...]`: forwards every call and keeps
//! a copy of every file the app writes under `ARCHIVE_DIR/<path>`.
//!
//! The grate follows each fd the app opens (path, offset, O_APPEND), shared
//! by dups and across fork, dropped on close and, for close-on-exec fds, on
//! exec. After a write, pwrite or writev is forwarded, the bytes the
//! primary accepted (its result) are written to the copy at the tracked
//! offset. A file opened for writing without O_TRUNC is first copied whole
//! from the real file, so the copy ends byte-identical to it; files only
//! read are not copied. A copy gets the mode the creating open asked for,
//! less group and other write, or 0600 when the open did not create the
//! file: a copy is never more open than its file. Only a regular file is
//! read: a FIFO, device or socket opened for writing is never read through
//! the grate (its open would block, its read would take the data), and its
//! copy holds just the bytes the app wrote to it. mkdir, rmdir, unlink(at), rename and (f)truncate
//! are mirrored. Paths are resolved against each cage's cwd (followed
//! through chdir; a cage starts in the grate's own cwd), the leading `/` is
//! stripped, and `..` never leaves ARCHIVE_DIR.
//!
//! The app's behaviour never depends on the archive: a failed mirror step
//! only leaves the copy stale. Only boundary APIs are used, so the grate
//! builds for real Lind as well.
//!
//! Limits: paths relative to a directory fd the grate did not see opened
//! are not mirrored, nor are fchdir, links, or writes through mmap.

mod calls;
mod mirror;
mod tracking;

use crate::kit::{lock, read_path, split_options, CageTables, Grate};
use crate::paths;
use boundary::consts::AT_FDCWD;
use boundary::{nr, Arg, Args, CageId, Guest, ThreeI};
use mirror::Mirror;
use std::sync::Mutex;
use tracking::CageFiles;

pub const USAGE: &str = "archive-grate ARCHIVE_DIR APP [ARGS...]";

/// The calls the archive follows.
const CALLS: &[u32] = &[
    nr::OPEN,
    nr::OPENAT,
    nr::CREAT,
    nr::CLOSE,
    nr::READ,
    nr::READV,
    nr::WRITE,
    nr::PWRITE,
    nr::WRITEV,
    nr::LSEEK,
    nr::DUP,
    nr::DUP2,
    nr::DUP3,
    nr::FCNTL,
    nr::FTRUNCATE,
    nr::TRUNCATE,
    nr::RENAME,
    nr::UNLINK,
    nr::UNLINKAT,
    nr::MKDIR,
    nr::RMDIR,
    nr::CHDIR,
    nr::EXECVE,
];

/// The archiving grate.
pub struct Archive {
    /// ARCHIVE_DIR, set by `configure`.
    root: Mutex<String>,
    /// The grate's own cwd: where its direct child starts.
    start_cwd: Mutex<Vec<String>>,
    cages: CageTables<CageFiles>,
}

impl Default for Archive {
    fn default() -> Archive {
        Archive {
            root: Mutex::new(String::new()),
            start_cwd: Mutex::new(Vec::new()),
            cages: CageTables::new(CageFiles::default),
        }
    }
}

impl Archive {
    fn root(&self) -> String {
        lock(&self.root).clone()
    }

    /// A path argument resolved against the caller's cwd; `None` when it
    /// cannot be read (the call is still forwarded, and fails on its own).
    fn path(&self, rt: &dyn ThreeI, caller: CageId, arg: Arg) -> Option<Vec<String>> {
        let path = read_path(rt, arg).ok().filter(|p| !p.is_empty())?;
        let cwd = self.cages.with(caller, |c| c.cwd.clone());
        Some(paths::resolve_from(&cwd, &path))
    }

    /// A `*at` path; `None` when relative to a directory fd never seen opened.
    fn path_at(
        &self,
        rt: &dyn ThreeI,
        caller: CageId,
        dirfd: i32,
        arg: Arg,
    ) -> Option<Vec<String>> {
        let path = read_path(rt, arg).ok().filter(|p| !p.is_empty())?;
        if path.starts_with('/') || dirfd == AT_FDCWD {
            return self.path(rt, caller, arg);
        }
        let dir = self.cages.with(caller, |c| c.get(dirfd))?;
        let base = lock(&dir).path.clone();
        Some(paths::resolve_from(&base, &path))
    }
}

impl Grate for Archive {
    fn usage(&self) -> &'static str {
        USAGE
    }

    fn configure(&self, rt: &dyn ThreeI, args: &[String]) -> Result<Vec<String>, String> {
        let (options, rest) = split_options(args, &[])?;
        if let Some((name, _)) = options.first() {
            return Err(format!("unknown option {name}"));
        }
        let (root, app) = rest.split_first().ok_or("missing ARCHIVE_DIR")?;
        Mirror::new(rt, root)
            .make_root()
            .map_err(|errno| format!("cannot create {root}: {errno}"))?;
        *lock(&self.root) = root.clone();
        if let Ok(cwd) = Guest::new(rt).getcwd() {
            *lock(&self.start_cwd) = paths::split(&cwd);
        }
        Ok(app.to_vec())
    }

    fn syscalls(&self) -> Vec<u32> {
        CALLS.to_vec()
    }

    fn on_child(&self, child: CageId) {
        let cwd = lock(&self.start_cwd).clone();
        self.cages.insert_fresh(child);
        self.cages.with(child, |c| c.cwd = cwd);
    }

    fn handle(&self, rt: &dyn ThreeI, nr: u32, caller: CageId, args: &Args) -> i32 {
        self.dispatch(rt, nr, caller, args)
    }

    fn on_exit(&self, cage: CageId) {
        drop(self.cages.remove(cage));
    }
}
