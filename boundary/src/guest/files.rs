//! fd calls of the guest libc: I/O, fd table changes, pipes, directories.

use super::{check, Guest, OwnBuf};
use crate::dirent::{decode_dirents, DirEntry};
use crate::errno::Errno;
use crate::iovec::IoVec;
use crate::nr;
use crate::stat::Stat;

/// Chunk size of [`Guest::read_to_end`].
const READ_CHUNK: usize = 64 * 1024;

const FDATASYNC: u32 = 75;
const FCHDIR: u32 = 81;

impl Guest<'_> {
    /// Copies the first `n` bytes the kernel wrote into `buf` back out,
    /// never more than asked for even if a grate claims more.
    fn copy_back(&self, from: &OwnBuf<'_>, ret: i32, into: &mut [u8]) -> Result<usize, Errno> {
        let n = usize::try_from(check(ret)?).unwrap_or(0).min(into.len());
        self.rt.read_own(from.addr(), &mut into[..n]);
        Ok(n)
    }

    /// `read(fd, buf, len)`.
    pub fn read(&self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        let len = self.scalar(buf.len() as u64);
        if let Some(addr) = self.rt.own_addr(buf.as_mut_ptr()) {
            // Filled in place: no own copy to make and read back.
            let ret = self.call(nr::READ, &[self.int(fd), self.own_arg(addr), len]);
            return Ok(usize::try_from(check(ret)?).unwrap_or(0).min(buf.len()));
        }
        let own = OwnBuf::zeroed(self.rt, buf.len());
        let ret = self.call(
            nr::READ,
            &[self.int(fd), own.arg(), self.scalar(buf.len() as u64)],
        );
        self.copy_back(&own, ret, buf)
    }

    /// `write(fd, buf, len)`.
    pub fn write(&self, fd: i32, data: &[u8]) -> Result<usize, Errno> {
        if let Some(addr) = self.rt.own_addr(data.as_ptr()) {
            let len = self.scalar(data.len() as u64);
            let ret = self.call(nr::WRITE, &[self.int(fd), self.own_arg(addr), len]);
            return Ok(check(ret)? as usize);
        }
        let own = OwnBuf::from_bytes(self.rt, data);
        let ret = self.call(
            nr::WRITE,
            &[self.int(fd), own.arg(), self.scalar(data.len() as u64)],
        );
        Ok(check(ret)? as usize)
    }

    /// Writes all of `data`; a write of 0 bytes is EIO.
    pub fn write_all(&self, fd: i32, mut data: &[u8]) -> Result<(), Errno> {
        while !data.is_empty() {
            match self.write(fd, data)? {
                0 => return Err(Errno::EIO),
                n => data = &data[n.min(data.len())..],
            }
        }
        Ok(())
    }

    /// Reads until end of file.
    pub fn read_to_end(&self, fd: i32) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            match self.read(fd, &mut chunk)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// `pread(fd, buf, len, off)`.
    pub fn pread(&self, fd: i32, buf: &mut [u8], off: i64) -> Result<usize, Errno> {
        let own = OwnBuf::zeroed(self.rt, buf.len());
        let ret = self.call(
            nr::PREAD,
            &[
                self.int(fd),
                own.arg(),
                self.scalar(buf.len() as u64),
                self.scalar(off as u64),
            ],
        );
        self.copy_back(&own, ret, buf)
    }

    /// `pwrite(fd, buf, len, off)`.
    pub fn pwrite(&self, fd: i32, data: &[u8], off: i64) -> Result<usize, Errno> {
        let own = OwnBuf::from_bytes(self.rt, data);
        let ret = self.call(
            nr::PWRITE,
            &[
                self.int(fd),
                own.arg(),
                self.scalar(data.len() as u64),
                self.scalar(off as u64),
            ],
        );
        Ok(check(ret)? as usize)
    }

    /// Lays out one data area for `lens` and an iovec array of
    /// `{u64 host_base, u64 len}` pointing into it, as glibc translates iovecs.
    fn iovecs(&self, lens: &[usize]) -> (OwnBuf<'_>, OwnBuf<'_>) {
        let data = OwnBuf::zeroed(self.rt, lens.iter().sum());
        let mut at = data.addr();
        let table = IoVec::encode_all(lens.iter().map(|&len| {
            let element = IoVec {
                base: self.rt.host_addr(at),
                len: len as u64,
            };
            at += len as u64;
            element
        }));
        let iov = OwnBuf::from_bytes(self.rt, &table);
        (data, iov)
    }

    /// `readv(fd, iov, iovcnt)`: fills `bufs` in order.
    pub fn readv(&self, fd: i32, bufs: &mut [&mut [u8]]) -> Result<usize, Errno> {
        let lens: Vec<usize> = bufs.iter().map(|b| b.len()).collect();
        let (data, iov) = self.iovecs(&lens);
        let ret = self.call(
            nr::READV,
            &[self.int(fd), iov.arg(), self.scalar(bufs.len() as u64)],
        );
        let total = usize::try_from(check(ret)?).unwrap_or(0);
        let mut left = total.min(data.len());
        let mut at = data.addr();
        for buf in bufs.iter_mut() {
            let n = left.min(buf.len());
            self.rt.read_own(at, &mut buf[..n]);
            at += buf.len() as u64;
            left -= n;
        }
        Ok(total)
    }

    /// `writev(fd, iov, iovcnt)`.
    pub fn writev(&self, fd: i32, bufs: &[&[u8]]) -> Result<usize, Errno> {
        let lens: Vec<usize> = bufs.iter().map(|b| b.len()).collect();
        let (data, iov) = self.iovecs(&lens);
        self.rt.write_own(data.addr(), &bufs.concat());
        let ret = self.call(
            nr::WRITEV,
            &[self.int(fd), iov.arg(), self.scalar(bufs.len() as u64)],
        );
        Ok(check(ret)? as usize)
    }

    /// `lseek(fd, off, whence)`. Results are 32-bit on Lind (docs/lind-3i.md §2.4).
    pub fn lseek(&self, fd: i32, off: i64, whence: i32) -> Result<i64, Errno> {
        self.checked(
            nr::LSEEK,
            &[self.int(fd), self.scalar(off as u64), self.int(whence)],
        )
        .map(i64::from)
    }

    /// `close(fd)`.
    pub fn close(&self, fd: i32) -> Result<(), Errno> {
        self.checked(nr::CLOSE, &[self.int(fd)]).map(drop)
    }

    /// `fstat(fd, &st)`.
    pub fn fstat(&self, fd: i32) -> Result<Stat, Errno> {
        let mut args = [self.int(fd), self.int(0)];
        self.stat_call(nr::FSTAT, &mut args, 1)
    }

    /// `dup(fd)`.
    pub fn dup(&self, fd: i32) -> Result<i32, Errno> {
        self.checked(nr::DUP, &[self.int(fd)])
    }

    /// `dup2(old, new)`.
    pub fn dup2(&self, old: i32, new: i32) -> Result<i32, Errno> {
        self.checked(nr::DUP2, &[self.int(old), self.int(new)])
    }

    /// `dup3(old, new, flags)`.
    pub fn dup3(&self, old: i32, new: i32, flags: i32) -> Result<i32, Errno> {
        self.checked(nr::DUP3, &[self.int(old), self.int(new), self.int(flags)])
    }

    /// `fcntl(fd, cmd, arg)`.
    pub fn fcntl(&self, fd: i32, cmd: i32, arg: i64) -> Result<i32, Errno> {
        self.checked(
            nr::FCNTL,
            &[self.int(fd), self.int(cmd), self.scalar(arg as u64)],
        )
    }

    /// `pipe(fds)`: `[read end, write end]`.
    pub fn pipe(&self) -> Result<[i32; 2], Errno> {
        self.pipe_call(nr::PIPE, None)
    }

    /// `pipe2(fds, flags)`.
    pub fn pipe2(&self, flags: i32) -> Result<[i32; 2], Errno> {
        self.pipe_call(nr::PIPE2, Some(flags))
    }

    fn pipe_call(&self, nr: u32, flags: Option<i32>) -> Result<[i32; 2], Errno> {
        let fds = OwnBuf::zeroed(self.rt, 8);
        match flags {
            Some(flags) => self.checked(nr, &[fds.arg(), self.int(flags)])?,
            None => self.checked(nr, &[fds.arg()])?,
        };
        let b = fds.to_vec();
        Ok([
            i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        ])
    }

    /// `ftruncate(fd, len)`.
    pub fn ftruncate(&self, fd: i32, len: i64) -> Result<(), Errno> {
        self.checked(nr::FTRUNCATE, &[self.int(fd), self.scalar(len as u64)])
            .map(drop)
    }

    /// `fsync(fd)`.
    pub fn fsync(&self, fd: i32) -> Result<(), Errno> {
        self.checked(nr::FSYNC, &[self.int(fd)]).map(drop)
    }

    /// `fdatasync(fd)`.
    pub fn fdatasync(&self, fd: i32) -> Result<(), Errno> {
        self.checked(FDATASYNC, &[self.int(fd)]).map(drop)
    }

    /// `fchdir(fd)`.
    pub fn fchdir(&self, fd: i32) -> Result<(), Errno> {
        self.checked(FCHDIR, &[self.int(fd)]).map(drop)
    }

    /// One `getdents` call (78) with a `cap`-byte buffer; an empty result
    /// means the end of the directory. RawPOSIX fills `linux_dirent64`
    /// records and returns -1 (not `-errno`) on any error, which reads here
    /// as `Err(EPERM)` (docs/lind-3i.md §9.3).
    pub fn getdents(&self, fd: i32, cap: usize) -> Result<Vec<DirEntry>, Errno> {
        let buf = OwnBuf::zeroed(self.rt, cap);
        let ret = self.call(
            nr::GETDENTS,
            &[self.int(fd), buf.arg(), self.scalar(cap as u64)],
        );
        let n = usize::try_from(check(ret)?).unwrap_or(0).min(cap);
        let mut bytes = vec![0u8; n];
        self.rt.read_own(buf.addr(), &mut bytes);
        Ok(decode_dirents(&bytes))
    }
}
