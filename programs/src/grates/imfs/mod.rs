//! `imfs-grate [--dump-to DIR] APP [ARGS...]`: an in-memory filesystem.
//!
//! Every path call of the app (and of its descendants) is answered from an
//! in-memory tree; fds the grate creates are virtual, numbered from 3 up.
//! fds it did not create (stdio 0-2, or ones a forwarded call made) are
//! forwarded unchanged, so the app's output still reaches the terminal.
//! Each cage has its own fd table and cwd (`/` at first): copied on fork,
//! close-on-exec fds dropped on exec, removed at exit_group.
//!
//! With `--dump-to DIR`, at teardown every in-memory directory and file is
//! written to `DIR/<path>` on the real filesystem through the grate's own
//! guest I/O, so tests can compare it with a real run.
//!
//! Limits: no symlinks, permissions or times (stat times are 0); a read on
//! an empty pipe waits at most 10 s; pipe writes never block.

mod fd_calls;
mod fds;
mod io_calls;
mod path_calls;
mod tree;

use crate::kit::{forward, lock, split_options, CageTables, Grate};
use crate::paths;
use boundary::consts::open_flags::{O_CREAT, O_TRUNC, O_WRONLY};
use boundary::consts::AT_FDCWD;
use boundary::{nr, Arg, Args, CageId, Errno, Guest, ThreeI};
use fds::{Desc, FdEntry, FdTable};
use std::sync::{Arc, Mutex};
use tree::Tree;

pub const USAGE: &str = "imfs-grate [--dump-to DIR] APP [ARGS...]";

/// The calls imfs answers (or forwards for fds it did not create).
const CALLS: &[u32] = &[
    nr::READ,
    nr::WRITE,
    nr::OPEN,
    nr::CLOSE,
    nr::STAT,
    nr::FSTAT,
    nr::LSTAT,
    nr::LSEEK,
    nr::PREAD,
    nr::PWRITE,
    nr::READV,
    nr::WRITEV,
    nr::ACCESS,
    nr::PIPE,
    nr::DUP,
    nr::DUP2,
    nr::EXECVE,
    nr::FCNTL,
    nr::FSYNC,
    nr::TRUNCATE,
    nr::FTRUNCATE,
    nr::GETDENTS,
    nr::GETCWD,
    nr::CHDIR,
    nr::RENAME,
    nr::MKDIR,
    nr::RMDIR,
    nr::CREAT,
    nr::UNLINK,
    nr::GETDENTS64,
    nr::OPENAT,
    nr::NEWFSTATAT,
    nr::UNLINKAT,
    nr::DUP3,
    nr::PIPE2,
];

/// One cage's view: its cwd and its fds.
#[derive(Clone)]
struct CageFs {
    cwd: Vec<String>,
    fds: FdTable,
}

impl CageFs {
    fn fresh() -> CageFs {
        CageFs {
            cwd: Vec::new(),
            fds: FdTable::with_stdio(),
        }
    }
}

/// The in-memory filesystem grate.
pub struct Imfs {
    dump_to: Mutex<Option<String>>,
    tree: Mutex<Tree>,
    cages: CageTables<CageFs>,
}

impl Default for Imfs {
    fn default() -> Imfs {
        Imfs {
            dump_to: Mutex::new(None),
            tree: Mutex::new(Tree::default()),
            cages: CageTables::new(CageFs::fresh),
        }
    }
}

/// Where an fd argument leads.
enum FdTarget {
    /// Not an imfs fd: forward the call unchanged.
    Forward,
    Virtual(Arc<Desc>),
}

/// Where a `*at` path leads.
enum AtTarget {
    /// Relative to a directory fd imfs did not create: forward.
    Forward,
    Path(Vec<String>),
}

impl Imfs {
    fn fd(&self, caller: CageId, fd: i32) -> FdTarget {
        self.cages.with(caller, |c| match c.fds.get(fd) {
            Some(FdEntry::Virtual { desc, .. }) => FdTarget::Virtual(Arc::clone(desc)),
            _ => FdTarget::Forward,
        })
    }

    /// A path argument resolved against the caller's cwd.
    fn path(&self, rt: &dyn ThreeI, caller: CageId, arg: Arg) -> Result<Vec<String>, Errno> {
        let path = crate::kit::read_path(rt, arg)?;
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let cwd = self.cages.with(caller, |c| c.cwd.clone());
        Ok(paths::resolve_from(&cwd, &path))
    }

    /// A `*at` path: absolute, relative to the cwd, or to a directory fd.
    fn path_at(
        &self,
        rt: &dyn ThreeI,
        caller: CageId,
        dirfd: i32,
        arg: Arg,
    ) -> Result<AtTarget, Errno> {
        let path = crate::kit::read_path(rt, arg)?;
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.starts_with('/') || dirfd == AT_FDCWD {
            let cwd = self.cages.with(caller, |c| c.cwd.clone());
            return Ok(AtTarget::Path(paths::resolve_from(&cwd, &path)));
        }
        match self.fd(caller, dirfd) {
            FdTarget::Forward => Ok(AtTarget::Forward),
            FdTarget::Virtual(desc) => match &desc.open {
                fds::Open::Dir { path: base, .. } => {
                    Ok(AtTarget::Path(paths::resolve_from(base, &path)))
                }
                _ => Err(Errno::ENOTDIR),
            },
        }
    }

    fn dispatch(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        caller: CageId,
        args: &Args,
    ) -> Result<i32, Errno> {
        match nr {
            nr::CLONE => Ok(self.cages.forward_clone(rt, caller, args)),
            nr::EXECVE => Ok(self.exec(rt, caller, args)),
            nr::OPEN | nr::OPENAT | nr::CREAT => self.open(rt, nr, caller, args),
            nr::CLOSE => Ok(self.close(rt, caller, args)),
            nr::DUP | nr::DUP2 | nr::DUP3 => self.dup(rt, nr, caller, args),
            nr::FCNTL => self.fcntl(rt, caller, args),
            nr::PIPE | nr::PIPE2 => self.pipe(rt, nr, caller, args),
            nr::READ | nr::WRITE | nr::PREAD | nr::PWRITE | nr::READV | nr::WRITEV => {
                self.io(rt, nr, caller, args)
            }
            nr::LSEEK | nr::FSTAT | nr::FTRUNCATE | nr::FSYNC => self.fd_meta(rt, nr, caller, args),
            nr::GETDENTS | nr::GETDENTS64 => self.getdents(rt, nr, caller, args),
            nr::STAT | nr::LSTAT | nr::NEWFSTATAT | nr::ACCESS => {
                self.stat_like(rt, nr, caller, args)
            }
            nr::MKDIR | nr::RMDIR | nr::UNLINK | nr::UNLINKAT | nr::RENAME | nr::TRUNCATE => {
                self.change_tree(rt, nr, caller, args)
            }
            nr::CHDIR | nr::GETCWD => self.cwd_call(rt, nr, caller, args),
            _ => Ok(forward(rt, nr, args)),
        }
    }
}

impl Grate for Imfs {
    fn usage(&self) -> &'static str {
        USAGE
    }

    fn configure(&self, _rt: &dyn ThreeI, args: &[String]) -> Result<Vec<String>, String> {
        let (options, app) = split_options(args, &["--dump-to"])?;
        for (name, value) in options {
            match name.as_str() {
                "--dump-to" => *lock(&self.dump_to) = value,
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(app)
    }

    fn syscalls(&self) -> Vec<u32> {
        CALLS.to_vec()
    }

    fn on_child(&self, child: CageId) {
        self.cages.insert_fresh(child);
    }

    fn handle(&self, rt: &dyn ThreeI, nr: u32, caller: CageId, args: &Args) -> i32 {
        self.dispatch(rt, nr, caller, args)
            .unwrap_or_else(|errno| errno.ret())
    }

    fn on_exit(&self, cage: CageId) {
        // Dropped here, outside the tables lock: closing pipe ends locks pipes.
        drop(self.cages.remove(cage));
    }

    fn teardown(&self, rt: &dyn ThreeI) -> Result<(), String> {
        let Some(dest) = lock(&self.dump_to).clone() else {
            return Ok(());
        };
        // Copied out first: the dump's own I/O runs with no lock held.
        let nodes: Vec<(Vec<String>, Option<Vec<u8>>)> = lock(&self.tree)
            .walk()
            .into_iter()
            .map(|(path, data)| (path, data.map(<[u8]>::to_vec)))
            .collect();
        dump(&Guest::new(rt), &dest, &nodes)
    }
}

/// Writes `nodes` under `dest` through the grate's own guest I/O.
fn dump(
    guest: &Guest<'_>,
    dest: &str,
    nodes: &[(Vec<String>, Option<Vec<u8>>)],
) -> Result<(), String> {
    let mkdir = |path: &str| match guest.mkdir(path, 0o755) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(errno) => Err(format!("mkdir {path}: {errno}")),
    };
    // DIR itself, parents first.
    let mut prefix = if dest.starts_with('/') { "/" } else { "" }.to_string();
    for part in dest.split('/').filter(|p| !p.is_empty()) {
        prefix.push_str(part);
        mkdir(&prefix)?;
        prefix.push('/');
    }
    for (path, data) in nodes {
        let target = paths::under(dest, path);
        match data {
            None => mkdir(&target)?,
            Some(bytes) => {
                let fd = guest
                    .open(&target, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                    .map_err(|e| format!("create {target}: {e}"))?;
                let written = guest.write_all(fd, bytes);
                let closed = guest.close(fd);
                written
                    .and(closed)
                    .map_err(|e| format!("write {target}: {e}"))?;
            }
        }
    }
    Ok(())
}
