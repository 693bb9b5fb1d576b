//! The archive copies, written through the grate's own guest I/O: down its
//! own table, under its own identity, never the caller's.

use crate::paths;
use abi::stat::{S_IFMT, S_IFREG};
use boundary::consts::open_flags::{O_APPEND, O_CREAT, O_NONBLOCK, O_RDONLY, O_TRUNC, O_WRONLY};
use boundary::{Errno, Guest, ThreeI};

/// The archive directory and the libc that writes into it.
pub struct Mirror<'a> {
    guest: Guest<'a>,
    root: &'a str,
}

impl<'a> Mirror<'a> {
    pub fn new(rt: &'a dyn ThreeI, root: &'a str) -> Mirror<'a> {
        Mirror {
            guest: Guest::new(rt),
            root,
        }
    }

    /// Where `path` is archived.
    fn at(&self, path: &[String]) -> String {
        paths::under(self.root, path)
    }

    /// Creates the archive directory itself, parents first.
    pub fn make_root(&self) -> Result<(), Errno> {
        let mut prefix = if self.root.starts_with('/') { "/" } else { "" }.to_string();
        for part in self.root.split('/').filter(|p| !p.is_empty()) {
            prefix.push_str(part);
            mkdir_ok(&self.guest, &prefix)?;
            prefix.push('/');
        }
        Ok(())
    }

    /// Creates `dir` and every directory above it inside the archive.
    pub fn make_dirs(&self, dir: &[String]) -> Result<(), Errno> {
        for end in 1..=dir.len() {
            mkdir_ok(&self.guest, &self.at(&dir[..end]))?;
        }
        Ok(())
    }

    fn make_parent(&self, path: &[String]) -> Result<(), Errno> {
        self.make_dirs(&path[..path.len().saturating_sub(1)])
    }

    /// Makes the copy of `path` hold exactly `content`.
    pub fn reset(&self, path: &[String], content: &[u8], mode: u32) -> Result<(), Errno> {
        self.make_parent(path)?;
        let copy = self.at(path);
        let fd = self.guest.open(&copy, O_WRONLY | O_CREAT | O_TRUNC, mode)?;
        let written = self.guest.write_all(fd, content);
        let closed = self.guest.close(fd);
        // An existing copy keeps its old mode through O_CREAT: set it.
        written.and(closed).and(self.guest.chmod(&copy, mode))
    }

    /// Writes `data` into the copy at `at`, or at its end for `None`
    /// (O_APPEND). Returns the offset after the write.
    pub fn write(&self, path: &[String], at: Option<u64>, data: &[u8]) -> Result<u64, Errno> {
        let append = if at.is_none() { O_APPEND } else { 0 };
        // A copy first made here (its file was opened without being
        // created, so its mode is unknown) is private.
        let open = || {
            self.guest
                .open(&self.at(path), O_WRONLY | O_CREAT | append, 0o600)
        };
        // The directories exist since the open that started tracking; they
        // are only recreated if something removed them since.
        let fd = match open() {
            Err(Errno::ENOENT) => {
                self.make_parent(path)?;
                open()?
            }
            other => other?,
        };
        let result = match at {
            Some(off) => self.pwrite_all(fd, data, off),
            None => self
                .guest
                .write_all(fd, data)
                .and_then(|()| self.guest.fstat(fd))
                .map(|st| st.size),
        };
        let closed = self.guest.close(fd);
        let end = result?;
        closed.map(|()| end)
    }

    fn pwrite_all(&self, fd: i32, mut data: &[u8], mut off: u64) -> Result<u64, Errno> {
        while !data.is_empty() {
            let at = i64::try_from(off).map_err(|_| Errno::EFBIG)?;
            match self.guest.pwrite(fd, data, at)? {
                0 => return Err(Errno::EIO),
                n => {
                    data = &data[n.min(data.len())..];
                    off += n as u64;
                }
            }
        }
        Ok(off)
    }

    pub fn truncate(&self, path: &[String], len: u64) -> Result<(), Errno> {
        let len = i64::try_from(len).map_err(|_| Errno::EFBIG)?;
        self.guest.truncate(&self.at(path), len)
    }

    /// Follows a real rename. When `from` was never archived, the real
    /// target now holds something the archive has no copy of, so the
    /// archive's stale copy of the target goes.
    pub fn rename(&self, from: &[String], to: &[String]) -> Result<(), Errno> {
        self.make_parent(to)?;
        match self.guest.rename(&self.at(from), &self.at(to)) {
            Err(Errno::ENOENT) => match self.guest.unlink(&self.at(to)) {
                Ok(()) | Err(Errno::ENOENT) => Ok(()),
                Err(errno) => Err(errno),
            },
            other => other,
        }
    }

    pub fn unlink(&self, path: &[String]) -> Result<(), Errno> {
        self.guest.unlink(&self.at(path))
    }

    pub fn rmdir(&self, path: &[String]) -> Result<(), Errno> {
        self.guest.rmdir(&self.at(path))
    }

    /// The real file's current bytes (the sandbox path, not the archive);
    /// none for anything but a regular file. Opened without blocking and
    /// read only once fstat says it is a regular file: a FIFO's open would
    /// wait for a writer and its read for every writer to close, and the
    /// writer may be the very caller waiting on this grate.
    pub fn read_real(&self, path: &[String]) -> Result<Vec<u8>, Errno> {
        let fd = self
            .guest
            .open(&paths::absolute(path), O_RDONLY | O_NONBLOCK, 0)?;
        let regular = self.guest.fstat(fd).map(|st| st.mode & S_IFMT == S_IFREG);
        let data = match regular {
            Ok(true) => self.guest.read_to_end(fd),
            Ok(false) => Ok(Vec::new()),
            Err(errno) => Err(errno),
        };
        let closed = self.guest.close(fd);
        let data = data?;
        closed.map(|()| data)
    }
}

fn mkdir_ok(guest: &Guest<'_>, path: &str) -> Result<(), Errno> {
    match guest.mkdir(path, 0o755) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(errno) => Err(errno),
    }
}
