//! The kernel below every stack: what RawPOSIX does, on real host files.
//!
//! Calls arrive with host-translated arguments and the *target* cage. Which
//! fd table and which cwd a call uses follows docs/lind-3i.md §4.2: an fd argument
//! is looked up in its argcage's table for I/O calls, in the target's for
//! close/dup/fcntl; new fds go in the target's table; a relative path
//! resolves against the cwd of the path argument's argcage. Errors come
//! back as `-errno` (getdents: -1, as RawPOSIX).

mod fdcalls;
pub(crate) mod fdtable;
mod io;
mod openfile;
mod path;
mod pathcalls;
mod pipe;
pub(crate) mod proc;
mod statconv;

use crate::cage::{lock, Cage};
use crate::memory::{split_host, Memory};
use crate::runtime::Inner;
use boundary::{Args, Errno};
use fdtable::OpenFile;
use path::Resolved;
use std::sync::Arc;

pub(crate) use abi::limits::PATH_MAX;

/// One kernel call: the target cage and the arguments.
pub(crate) struct Call<'a> {
    pub inner: &'a Arc<Inner>,
    pub nr: u32,
    pub target: Arc<Cage>,
    pub args: &'a Args,
}

/// Runs kernel function `which` (the fn_ptr of a 777777 entry) for `target`.
pub(crate) fn call(inner: &Arc<Inner>, which: u64, target: u64, args: &Args) -> i32 {
    let Ok(nr) = u32::try_from(which) else {
        inner.stop(format!("kernel entry with unknown function {which}"));
    };
    // RawPOSIX unwraps get_cage(target): an unknown cage panics Lind.
    let target = inner.known_cage(target, &format!("target of syscall {nr}"));
    let c = Call {
        inner,
        nr,
        target,
        args,
    };
    let result = fdcalls::call(&c)
        .or_else(|| io::call(&c))
        .or_else(|| pathcalls::call(&c))
        .or_else(|| proc::call(&c))
        .unwrap_or(Err(Errno::ENOSYS));
    match result {
        Ok(ret) => ret,
        Err(e) => e.ret(),
    }
}

impl Call<'_> {
    /// Argument `i` as a C int.
    pub(crate) fn int(&self, i: usize) -> i32 {
        self.args[i].value as i32
    }

    /// Argument `i`'s raw value.
    pub(crate) fn val(&self, i: usize) -> u64 {
        self.args[i].value
    }

    /// The cage that owns argument `i`; it must exist (fdtables and
    /// get_cage panic on an unknown cage).
    pub(crate) fn arg_cage(&self, i: usize) -> Arc<Cage> {
        let id = self.args[i].cage;
        if id == self.target.id {
            return self.target.clone();
        }
        self.inner
            .known_cage(id, &format!("argument {} of syscall {}", i + 1, self.nr))
    }

    /// The open file for fd argument `i`, in its argcage's table.
    pub(crate) fn fd_by_arg(&self, i: usize) -> Result<Arc<OpenFile>, Errno> {
        lock(&self.arg_cage(i).fds).get(self.int(i))
    }

    /// The open file for fd argument `i`, in the target's table.
    pub(crate) fn fd_by_target(&self, i: usize) -> Result<Arc<OpenFile>, Errno> {
        lock(&self.target.fds).get(self.int(i))
    }

    /// Installs a new fd in the target's table.
    pub(crate) fn install(&self, file: OpenFile, cloexec: bool) -> Result<i32, Errno> {
        lock(&self.target.fds).install(Arc::new(file), cloexec, 0)
    }

    /// The memory a host address in argcage `cage` points into, with the
    /// offset. A host address naming another cage is EFAULT here (Lind
    /// would touch that other cage's bytes).
    fn memory_at(&self, host: u64, cage: u64) -> Result<(Arc<Memory>, u64), Errno> {
        let (owner, off) = split_host(host);
        if host == 0 || owner != cage {
            return Err(Errno::EFAULT);
        }
        let mem = if cage == self.target.id {
            self.target.memory()
        } else {
            self.inner.cage(cage).ok_or(Errno::EFAULT)?.memory()
        };
        Ok((mem, off))
    }

    /// Reads `len` bytes at host address `host` owned by `cage`.
    pub(crate) fn read_mem(&self, host: u64, cage: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let (mem, off) = self.memory_at(host, cage)?;
        let mut out = vec![0; len];
        if len > 0 && !mem.read(off, &mut out) {
            return Err(Errno::EFAULT);
        }
        Ok(out)
    }

    /// Writes `data` at host address `host` owned by `cage`.
    pub(crate) fn write_mem(&self, host: u64, cage: u64, data: &[u8]) -> Result<(), Errno> {
        if data.is_empty() {
            return Ok(());
        }
        let (mem, off) = self.memory_at(host, cage)?;
        if mem.write(off, data) {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }

    /// Checks that `len` bytes at host address `host` in `cage` are mapped.
    pub(crate) fn check_mem(&self, host: u64, cage: u64, len: usize) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        let (mem, off) = self.memory_at(host, cage)?;
        if mem.in_bounds(off, len) {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }

    /// The buffer argument `i` (host address in its argcage), `len` bytes.
    pub(crate) fn read_arg(&self, i: usize, len: usize) -> Result<Vec<u8>, Errno> {
        self.read_mem(self.args[i].value, self.args[i].cage, len)
    }

    /// Writes `data` into buffer argument `i`.
    pub(crate) fn write_arg(&self, i: usize, data: &[u8]) -> Result<(), Errno> {
        self.write_mem(self.args[i].value, self.args[i].cage, data)
    }

    /// A NUL-terminated string at host address `host` in `cage`.
    pub(crate) fn cstr_at(&self, host: u64, cage: u64) -> Result<Vec<u8>, Errno> {
        let (mem, off) = self.memory_at(host, cage)?;
        match mem.strlen(off, PATH_MAX) {
            Some(n) => {
                let mut out = vec![0; n];
                mem.read(off, &mut out);
                Ok(out)
            }
            None if mem.in_bounds(off, PATH_MAX) => Err(Errno::ENAMETOOLONG),
            None => Err(Errno::EFAULT),
        }
    }

    /// Path argument `i`, resolved against the cwd of its argcage.
    pub(crate) fn path(&self, i: usize) -> Result<Resolved, Errno> {
        let text = self.path_text(i)?;
        let cwd = self.arg_cage(i).cwd();
        Ok(path::resolve(&self.inner.root, &cwd, &text))
    }

    /// Path argument `i` as text; an empty path is ENOENT.
    pub(crate) fn path_text(&self, i: usize) -> Result<String, Errno> {
        let bytes = self.cstr_at(self.args[i].value, self.args[i].cage)?;
        let text = String::from_utf8(bytes).map_err(|_| Errno::EFAULT)?;
        if text.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(text)
    }

    /// Path argument `i` relative to directory `dir` (an open directory)
    /// unless absolute.
    pub(crate) fn path_in(&self, dir: &OpenFile, i: usize) -> Result<Resolved, Errno> {
        let text = self.path_text(i)?;
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let base = dir.lind_path.clone().unwrap_or_else(|| "/".into());
        Ok(path::resolve(&self.inner.root, &base, &text))
    }
}

/// A lindfs path as a cwd: no trailing slash except for "/".
pub(crate) fn cwd_form(lind: &str) -> String {
    match lind.trim_end_matches('/') {
        "" => "/".into(),
        dir => dir.into(),
    }
}
