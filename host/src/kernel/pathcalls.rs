//! Calls on paths. A relative path resolves against the cwd of the path
//! argument's argcage; the `*at` dirfds of newfstatat and unlinkat are in
//! the target's table (§4.2).

use super::openfile::errno;
use super::path::Resolved;
use super::statconv::stat_of;
use super::{cwd_form, Call};
use boundary::consts::{AT_FDCWD, AT_REMOVEDIR};
use boundary::Errno;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};

const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
const AT_EMPTY_PATH: i32 = 0x1000;

pub(super) fn call(c: &Call<'_>) -> Option<Result<i32, Errno>> {
    Some(match c.nr {
        4 => c.path(0).and_then(|p| stat_into(c, &p, true, 1)),
        6 => c.path(0).and_then(|p| stat_into(c, &p, false, 1)),
        21 => c.path(0).and_then(|p| access(&p, c.int(1))),
        76 => truncate(c),
        79 => getcwd(c),
        80 => chdir(c),
        82 => rename(c),
        83 => c.path(0).and_then(|p| {
            fs::DirBuilder::new()
                .mode(c.val(1) as u32 & 0o7777)
                .create(&p.host)
                .map_err(errno)
                .map(|()| 0)
        }),
        84 => c
            .path(0)
            .and_then(|p| fs::remove_dir(&p.host).map_err(errno).map(|()| 0)),
        87 => c
            .path(0)
            .and_then(|p| fs::remove_file(&p.host).map_err(errno).map(|()| 0)),
        89 => readlink(c),
        133 => mknod(c),
        90 => c.path(0).and_then(|p| {
            let perms = fs::Permissions::from_mode(c.val(1) as u32 & 0o7777);
            fs::set_permissions(&p.host, perms)
                .map_err(errno)
                .map(|()| 0)
        }),
        262 => newfstatat(c),
        263 => unlinkat(c),
        _ => return None,
    })
}

/// mknod (133): FIFOs and regular files, as an unprivileged process may
/// make them on Linux; devices are refused (EPERM).
fn mknod(c: &Call<'_>) -> Result<i32, Errno> {
    use rustix::fs::{FileType, Mode, CWD};
    let p = c.path(0)?;
    let mode = c.val(1) as u32;
    let kind = match FileType::from_raw_mode(mode) {
        // A type of 0 is a regular file, as on Linux.
        FileType::Unknown if mode & boundary::stat::S_IFMT == 0 => FileType::RegularFile,
        kind @ (FileType::Fifo | FileType::RegularFile) => kind,
        FileType::CharacterDevice | FileType::BlockDevice => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    };
    rustix::fs::mknodat(CWD, &p.host, kind, Mode::from_raw_mode(mode & 0o7777), 0)
        .map_err(|e| Errno::new(e.raw_os_error()).unwrap_or(Errno::EIO))?;
    Ok(0)
}

/// stat (follow) or lstat into buffer argument `buf`.
fn stat_into(c: &Call<'_>, p: &Resolved, follow: bool, buf: usize) -> Result<i32, Errno> {
    let meta = if follow {
        fs::metadata(&p.host)
    } else {
        fs::symlink_metadata(&p.host)
    };
    let st = stat_of(&meta.map_err(errno)?);
    c.write_arg(buf, &st.encode())?;
    Ok(0)
}

/// Path argument `i` relative to the dirfd in argument 0, which is looked
/// up in the target's table.
fn at_path(c: &Call<'_>, i: usize) -> Result<Resolved, Errno> {
    if c.int(0) == AT_FDCWD || c.path_text(i)?.starts_with('/') {
        c.path(i)
    } else {
        c.path_in(&*c.fd_by_target(0)?, i)
    }
}

fn newfstatat(c: &Call<'_>) -> Result<i32, Errno> {
    let flags = c.int(3);
    if flags & AT_EMPTY_PATH != 0 && c.cstr_at(c.val(1), c.args[1].cage)?.is_empty() {
        let st = c.fd_by_target(0)?.stat()?;
        c.write_arg(2, &st.encode())?;
        return Ok(0);
    }
    let p = at_path(c, 1)?;
    stat_into(c, &p, flags & AT_SYMLINK_NOFOLLOW == 0, 2)
}

fn unlinkat(c: &Call<'_>) -> Result<i32, Errno> {
    let p = at_path(c, 1)?;
    if c.int(2) & AT_REMOVEDIR != 0 {
        fs::remove_dir(&p.host).map_err(errno)?;
    } else {
        fs::remove_file(&p.host).map_err(errno)?;
    }
    Ok(0)
}

fn truncate(c: &Call<'_>) -> Result<i32, Errno> {
    let p = c.path(0)?;
    let len = u64::try_from(c.val(1) as i64).map_err(|_| Errno::EINVAL)?;
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&p.host)
        .map_err(errno)?;
    file.set_len(len).map_err(errno)?;
    Ok(0)
}

/// getcwd: the target's cwd; returns its length without the NUL, as
/// RawPOSIX does.
fn getcwd(c: &Call<'_>) -> Result<i32, Errno> {
    let cwd = c.target.cwd();
    let size = c.val(1) as usize;
    if size == 0 {
        return Err(Errno::EINVAL);
    }
    if cwd.len() + 1 > size {
        return Err(Errno::ERANGE);
    }
    let mut bytes = cwd.into_bytes();
    bytes.push(0);
    c.write_arg(0, &bytes)?;
    Ok(bytes.len() as i32 - 1)
}

/// chdir moves the target's cwd; the path resolves against the path
/// argument's argcage's cwd.
fn chdir(c: &Call<'_>) -> Result<i32, Errno> {
    let p = c.path(0)?;
    let meta = fs::metadata(&p.host).map_err(errno)?;
    if !meta.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    c.target.set_cwd(cwd_form(&p.lind));
    Ok(0)
}

fn rename(c: &Call<'_>) -> Result<i32, Errno> {
    let (from, to) = (c.path(0)?, c.path(1)?);
    fs::rename(&from.host, &to.host).map_err(errno)?;
    Ok(0)
}

fn readlink(c: &Call<'_>) -> Result<i32, Errno> {
    let p = c.path(0)?;
    let target = fs::read_link(&p.host).map_err(errno)?;
    let bytes = target.as_os_str().as_bytes();
    let n = bytes.len().min(c.val(2) as usize);
    c.write_arg(1, &bytes[..n])?;
    Ok(n as i32)
}

/// access without libc: permission bits against this process's ids, read
/// from /proc/self (root passes read and write, and execute if any x bit).
fn access(p: &Resolved, mode: i32) -> Result<i32, Errno> {
    let meta = fs::metadata(&p.host).map_err(errno)?;
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let want = mode as u32 & 7;
    if want == 0 {
        return Ok(0);
    }
    let me = fs::metadata("/proc/self").map_err(errno)?;
    let bits = meta.mode();
    let granted = if me.uid() == 0 {
        6 | u32::from(bits & 0o111 != 0)
    } else if me.uid() == meta.uid() {
        (bits >> 6) & 7
    } else if me.gid() == meta.gid() {
        (bits >> 3) & 7
    } else {
        bits & 7
    };
    if want & !granted == 0 {
        Ok(0)
    } else {
        Err(Errno::EACCES)
    }
}
