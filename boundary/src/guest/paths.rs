//! Path calls of the guest libc. Paths go in as NUL-terminated strings in
//! own memory; a relative path resolves against the cwd of its argcage's
//! cage, which is always this cage here (docs/lind-3i.md §4.2).

use super::{Guest, OwnBuf};
use crate::consts::AT_FDCWD;
use crate::errno::Errno;
use crate::nr;
use crate::stat::Stat;

/// getcwd's buffer: PATH_MAX.
use abi::limits::PATH_MAX;
/// `AT_SYMLINK_NOFOLLOW`: newfstatat's lstat flag.
const AT_SYMLINK_NOFOLLOW: i32 = 0x100;

impl Guest<'_> {
    fn path(&self, path: &str) -> OwnBuf<'_> {
        OwnBuf::cstr(self.rt, path.as_bytes())
    }

    /// `open(path, flags, mode)`.
    pub fn open(&self, path: &str, flags: i32, mode: u32) -> Result<i32, Errno> {
        let p = self.path(path);
        self.checked(
            nr::OPEN,
            &[p.arg(), self.int(flags), self.scalar(u64::from(mode))],
        )
    }

    /// `openat(dirfd, path, flags, mode)`.
    pub fn openat(&self, dirfd: i32, path: &str, flags: i32, mode: u32) -> Result<i32, Errno> {
        let p = self.path(path);
        self.checked(
            nr::OPENAT,
            &[
                self.int(dirfd),
                p.arg(),
                self.int(flags),
                self.scalar(u64::from(mode)),
            ],
        )
    }

    /// `creat(path, mode)`: Lind's glibc issues `open(path, O_WRONLY |
    /// O_CREAT | O_TRUNC, mode)`; 85 is not in RawPOSIX's table.
    pub fn creat(&self, path: &str, mode: u32) -> Result<i32, Errno> {
        use crate::consts::open_flags::{O_CREAT, O_TRUNC, O_WRONLY};
        self.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    }

    /// `stat(path, &st)` (4).
    pub fn stat(&self, path: &str) -> Result<Stat, Errno> {
        let p = self.path(path);
        let mut args = [p.arg(), self.int(0)];
        self.stat_call(nr::STAT, &mut args, 1)
    }

    /// `lstat(path, &st)`: Lind's glibc issues newfstatat (262) with
    /// `AT_SYMLINK_NOFOLLOW`, not 6 (docs/lind-3i.md §9.1).
    pub fn lstat(&self, path: &str) -> Result<Stat, Errno> {
        let p = self.path(path);
        let mut args = [
            self.int(AT_FDCWD),
            p.arg(),
            self.int(0),
            self.int(AT_SYMLINK_NOFOLLOW),
        ];
        self.stat_call(nr::NEWFSTATAT, &mut args, 2)
    }

    /// `mkdir(path, mode)`.
    pub fn mkdir(&self, path: &str, mode: u32) -> Result<(), Errno> {
        let p = self.path(path);
        self.checked(nr::MKDIR, &[p.arg(), self.scalar(u64::from(mode))])
            .map(drop)
    }

    /// `mknod(path, mode, dev)`: `mode` holds the file type.
    pub fn mknod(&self, path: &str, mode: u32, dev: u64) -> Result<(), Errno> {
        let p = self.path(path);
        let args = [p.arg(), self.scalar(u64::from(mode)), self.scalar(dev)];
        self.checked(nr::MKNOD, &args).map(drop)
    }

    /// `mkfifo(path, mode)`: glibc's mknod with the FIFO type.
    pub fn mkfifo(&self, path: &str, mode: u32) -> Result<(), Errno> {
        self.mknod(path, crate::stat::S_IFIFO | (mode & 0o7777), 0)
    }

    /// `rmdir(path)`.
    pub fn rmdir(&self, path: &str) -> Result<(), Errno> {
        let p = self.path(path);
        self.checked(nr::RMDIR, &[p.arg()]).map(drop)
    }

    /// `unlink(path)`.
    pub fn unlink(&self, path: &str) -> Result<(), Errno> {
        let p = self.path(path);
        self.checked(nr::UNLINK, &[p.arg()]).map(drop)
    }

    /// `unlinkat(dirfd, path, flags)`.
    pub fn unlinkat(&self, dirfd: i32, path: &str, flags: i32) -> Result<(), Errno> {
        let p = self.path(path);
        self.checked(nr::UNLINKAT, &[self.int(dirfd), p.arg(), self.int(flags)])
            .map(drop)
    }

    /// `rename(old, new)`.
    pub fn rename(&self, old: &str, new: &str) -> Result<(), Errno> {
        let (o, n) = (self.path(old), self.path(new));
        self.checked(nr::RENAME, &[o.arg(), n.arg()]).map(drop)
    }

    /// `chdir(path)`.
    pub fn chdir(&self, path: &str) -> Result<(), Errno> {
        let p = self.path(path);
        self.checked(nr::CHDIR, &[p.arg()]).map(drop)
    }

    /// `getcwd(buf, size)`: the cage's cwd as seen inside lindfs.
    pub fn getcwd(&self) -> Result<String, Errno> {
        let buf = OwnBuf::zeroed(self.rt, PATH_MAX);
        self.checked(nr::GETCWD, &[buf.arg(), self.scalar(PATH_MAX as u64)])?;
        let bytes = buf.to_vec();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
    }

    /// `truncate(path, len)`.
    pub fn truncate(&self, path: &str, len: i64) -> Result<(), Errno> {
        let p = self.path(path);
        self.checked(nr::TRUNCATE, &[p.arg(), self.scalar(len as u64)])
            .map(drop)
    }

    /// `access(path, mode)`.
    pub fn access(&self, path: &str, mode: i32) -> Result<(), Errno> {
        let p = self.path(path);
        self.checked(nr::ACCESS, &[p.arg(), self.int(mode)])
            .map(drop)
    }

    /// `readlink(path, buf, PATH_MAX)`.
    pub fn readlink(&self, path: &str) -> Result<Vec<u8>, Errno> {
        let p = self.path(path);
        let buf = OwnBuf::zeroed(self.rt, PATH_MAX);
        let n = self.checked(
            nr::READLINK,
            &[p.arg(), buf.arg(), self.scalar(PATH_MAX as u64)],
        )?;
        let mut bytes = buf.to_vec();
        bytes.truncate(usize::try_from(n).unwrap_or(0));
        Ok(bytes)
    }

    /// `chmod(path, mode)`.
    pub fn chmod(&self, path: &str, mode: u32) -> Result<(), Errno> {
        let p = self.path(path);
        self.checked(nr::CHMOD, &[p.arg(), self.scalar(u64::from(mode))])
            .map(drop)
    }
}
