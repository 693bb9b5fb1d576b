//! A small libc over [`ThreeI`]: what Lind's glibc does for a program.
//!
//! Each wrapper places its arguments in the caller's own memory, issues the
//! call through the caller's own table (`self = target = me`) with every
//! argcage set to the caller, and returns `-errno` results as [`Errno`].
//! Apps in the host runtime use it for everything; grates use it for their
//! own I/O (an archive being written, a log being kept), which therefore goes
//! down their own table exactly as a Lind grate's libc calls do.

use crate::args::{args_of, Arg, CageId};
use crate::errno::Errno;
use crate::threei::ThreeI;

/// The libc of one cage.
pub struct Guest<'a> {
    rt: &'a dyn ThreeI,
    me: CageId,
}

impl std::fmt::Debug for Guest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest").field("cage", &self.me).finish()
    }
}

/// A buffer in the caller's own memory, freed on drop.
pub struct OwnBuf<'a> {
    rt: &'a dyn ThreeI,
    addr: u64,
    len: usize,
}

impl<'a> OwnBuf<'a> {
    /// Allocates `len` zeroed bytes.
    pub fn zeroed(rt: &'a dyn ThreeI, len: usize) -> OwnBuf<'a> {
        OwnBuf {
            rt,
            addr: rt.alloc(len.max(1)),
            len,
        }
    }

    /// Allocates a copy of `data`.
    pub fn from_bytes(rt: &'a dyn ThreeI, data: &[u8]) -> OwnBuf<'a> {
        let buf = OwnBuf::zeroed(rt, data.len());
        rt.write_own(buf.addr, data);
        buf
    }

    /// Allocates `s` with a trailing NUL.
    pub fn cstr(rt: &'a dyn ThreeI, s: &[u8]) -> OwnBuf<'a> {
        let buf = OwnBuf::zeroed(rt, s.len() + 1);
        rt.write_own(buf.addr, s);
        buf
    }

    /// The guest address.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The argument that passes this buffer to a call.
    pub fn arg(&self) -> Arg {
        Arg::own_ptr(self.addr, self.rt.cage_id())
    }

    /// The buffer's current bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; self.len];
        self.rt.read_own(self.addr, &mut out);
        out
    }
}

impl Drop for OwnBuf<'_> {
    fn drop(&mut self) {
        self.rt.free(self.addr, self.len.max(1));
    }
}

impl<'a> Guest<'a> {
    /// The libc of the cage `rt` stands for.
    pub fn new(rt: &'a dyn ThreeI) -> Guest<'a> {
        Guest {
            rt,
            me: rt.cage_id(),
        }
    }

    /// The underlying 3i view.
    pub fn rt(&self) -> &'a dyn ThreeI {
        self.rt
    }

    /// This cage's id.
    pub fn cage_id(&self) -> CageId {
        self.me
    }

    /// Issues `nr` through the own table with scalar `values`; pointer
    /// arguments go in as [`Arg`]s through [`Guest::call`].
    pub fn syscall(&self, nr: u32, values: &[u64]) -> i32 {
        self.rt.make_call(nr, self.me, self.me, &args_of(self.me, values))
    }

    /// Issues `nr` through the own table with the given arguments (unused
    /// slots filled as glibc fills them).
    pub fn call(&self, nr: u32, given: &[Arg]) -> i32 {
        let mut args = Arg::all_unused(self.me);
        args[..given.len()].copy_from_slice(given);
        self.rt.make_call(nr, self.me, self.me, &args)
    }

    /// A scalar argument from this cage.
    pub fn scalar(&self, value: u64) -> Arg {
        Arg::new(value, self.me)
    }
}

/// `Ok(ret)` for a non-error result, `Err(errno)` otherwise.
pub fn check(ret: i32) -> Result<i32, Errno> {
    match Errno::from_ret(ret) {
        Some(errno) => Err(errno),
        None => Ok(ret),
    }
}
