//! Calls that make, change or inspect fds.

use super::openfile::{errno, OpenFile};
use super::path::Resolved;
use super::pipe::pipe;
use super::Call;
use crate::cage::lock;
use boundary::consts::fcntl_cmd::{
    FD_CLOEXEC, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL,
};
use boundary::consts::open_flags::{O_ACCMODE, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY};
use boundary::consts::AT_FDCWD;
use boundary::Errno;
use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

pub(super) fn call(c: &Call<'_>) -> Option<Result<i32, Errno>> {
    Some(match c.nr {
        2 => c
            .path(0)
            .and_then(|p| open(c, p, c.int(1), c.val(2) as u32)),
        3 => lock(&c.target.fds).remove(c.int(0)).map(|_| 0),
        5 => fstat(c),
        22 => make_pipe(c, 0),
        32 => dup(c),
        33 => dup2(c),
        72 => fcntl(c),
        78 => getdents(c),
        81 => fchdir(c),
        91 => fchmod(c),
        257 => openat(c),
        292 => dup3(c),
        293 => make_pipe(c, c.int(1)),
        _ => return None,
    })
}

/// Opens a host file with Linux's flags (Lind's values, not WASI's) and
/// installs it in the target's table.
pub(super) fn open(c: &Call<'_>, path: Resolved, flags: i32, mode: u32) -> Result<i32, Errno> {
    let acc = flags & O_ACCMODE;
    let file = OpenOptions::new()
        .read(acc == O_RDONLY || acc == O_RDWR)
        .write(acc == O_WRONLY || acc == O_RDWR)
        .custom_flags(flags & !(O_ACCMODE | O_CLOEXEC))
        .mode(mode)
        .open(&path.host)
        .map_err(errno)?;
    let open = OpenFile::host(file, flags, path.lind, path.host)?;
    c.install(open, flags & O_CLOEXEC != 0)
}

/// openat: the dirfd is looked up in its argcage's table (§4.2).
fn openat(c: &Call<'_>) -> Result<i32, Errno> {
    let path = if c.int(0) == AT_FDCWD || c.path_text(1)?.starts_with('/') {
        c.path(1)?
    } else {
        c.path_in(&*c.fd_by_arg(0)?, 1)?
    };
    open(c, path, c.int(2), c.val(3) as u32)
}

fn fstat(c: &Call<'_>) -> Result<i32, Errno> {
    let st = c.fd_by_arg(0)?.stat()?;
    c.write_arg(1, &st.encode())?;
    Ok(0)
}

fn make_pipe(c: &Call<'_>, flags: i32) -> Result<i32, Errno> {
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    c.check_mem(c.val(0), c.args[0].cage, 8)?;
    let (r, w) = pipe();
    let (r, w) = OpenFile::pipe_ends(r, w, flags & O_NONBLOCK);
    let cloexec = flags & O_CLOEXEC != 0;
    let rfd = c.install(r, cloexec)?;
    let wfd = match c.install(w, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = lock(&c.target.fds).remove(rfd);
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&rfd.to_le_bytes());
    out[4..].copy_from_slice(&wfd.to_le_bytes());
    c.write_arg(0, &out)?;
    Ok(0)
}

/// dup, dup2, dup3 and fcntl act on the target's table (§4.2).
fn dup(c: &Call<'_>) -> Result<i32, Errno> {
    let mut fds = lock(&c.target.fds);
    let file = fds.get(c.int(0))?;
    fds.install(file, false, 0)
}

fn dup2(c: &Call<'_>) -> Result<i32, Errno> {
    let (old, new) = (c.int(0), c.int(1));
    let mut fds = lock(&c.target.fds);
    let file = fds.get(old)?;
    if old != new {
        fds.install_at(new, file, false)?;
    }
    Ok(new)
}

fn dup3(c: &Call<'_>) -> Result<i32, Errno> {
    let (old, new, flags) = (c.int(0), c.int(1), c.int(2));
    if old == new || flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let mut fds = lock(&c.target.fds);
    let file = fds.get(old)?;
    fds.install_at(new, file, flags & O_CLOEXEC != 0)?;
    Ok(new)
}

fn fcntl(c: &Call<'_>) -> Result<i32, Errno> {
    let (fd, cmd, arg) = (c.int(0), c.int(1), c.int(2));
    let mut fds = lock(&c.target.fds);
    let file = fds.get(fd)?;
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = usize::try_from(arg).map_err(|_| Errno::EINVAL)?;
            fds.install(file, cmd == F_DUPFD_CLOEXEC, min)
        }
        F_GETFD => fds.cloexec(fd).map(i32::from),
        F_SETFD => fds.set_cloexec(fd, arg & FD_CLOEXEC != 0).map(|()| 0),
        F_GETFL => Ok(file.flags()),
        F_SETFL => {
            file.set_flags(arg);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// getdents (78): `linux_dirent64` records; RawPOSIX returns the host
/// call's -1 for every error after the fd lookup, not `-errno` (§9.3).
fn getdents(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    let cap = c.val(2) as usize;
    let records = c
        .check_mem(c.val(1), c.args[1].cage, cap)
        .and_then(|()| file.getdents(cap));
    match records {
        Ok(bytes) => {
            c.write_arg(1, &bytes)?;
            Ok(bytes.len() as i32)
        }
        Err(_) => Ok(-1),
    }
}

/// fchdir: the fd is found in its argcage's table; the target's cwd moves.
fn fchdir(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    match (&file.lind_path, file.is_dir()) {
        (Some(path), true) => {
            c.target.set_cwd(super::cwd_form(path));
            Ok(0)
        }
        _ => Err(Errno::ENOTDIR),
    }
}

fn fchmod(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    let f = file.file().ok_or(Errno::EINVAL)?;
    let perms = std::fs::Permissions::from_mode(c.val(1) as u32 & 0o7777);
    f.set_permissions(perms).map_err(errno)?;
    Ok(0)
}
