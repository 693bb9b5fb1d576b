//! Scratch output buffers for the secondary.
//!
//! The primary writes the app's buffers; the secondary must never touch them,
//! so every output argument is swapped for a buffer in the tee's own memory
//! (only that pointer and its argcage change: scalar argcages name the caller
//! and grates rely on that). All scratch for one call sits in one region, so
//! the floor can tell which in-flight call a buffer belongs to.

use crate::capture::{len_of, pointer_args, read_bytes, read_iovecs};
use boundary::consts::IOVEC_SIZE;
use boundary::iovec::IoVec;
use boundary::{Arg, Args, Errno, ThreeI};
use formats::{ArgKind, SyscallInfo};

/// Largest scratch region staged for one call; bigger calls are not duplicated.
pub const MAX_STAGED: u64 = 64 << 20;

/// A call's scratch region in the tee's memory, freed on drop.
pub struct Staged<'a> {
    rt: &'a dyn ThreeI,
    base: u64,
    size: usize,
    /// The arguments the secondary gets (own pointers flagged for translation).
    pub args: Args,
    /// The same arguments as host addresses, to read the outputs back.
    pub host_args: Args,
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if self.size > 0 {
            self.rt.free(self.base, self.size);
        }
    }
}

impl Staged<'_> {
    /// The host address range of the scratch region, if any.
    pub fn range(&self) -> Option<(u64, u64)> {
        (self.size > 0).then(|| {
            let lo = self.rt.host_addr(self.base);
            (lo, lo + self.size as u64)
        })
    }
}

/// How one output argument is staged.
enum Plan {
    Flat { pos: usize, len: u64, copy_in: bool },
    Iov { pos: usize, lens: Vec<u64> },
}

/// Stages scratch for every output argument of `args` (already fd-translated).
/// `Err` when the call is too large to stage or the app's buffers are bad.
pub fn stage<'a>(rt: &'a dyn ThreeI, info: &SyscallInfo, args: &Args) -> Result<Staged<'a>, Errno> {
    let mut plans = Vec::new();
    let mut size = 0u64;
    for (pos, kind, _) in pointer_args(info, args) {
        match kind {
            ArgKind::Out { cap, .. } | ArgKind::InOut { cap, .. } => {
                let len = len_of(cap, args).unwrap_or(0);
                size += len;
                let copy_in = matches!(kind, ArgKind::InOut { .. });
                plans.push(Plan::Flat { pos, len, copy_in });
            }
            ArgKind::IovOut { count } => {
                let iovs = read_iovecs(
                    rt,
                    args[pos].value,
                    args[pos].owner(),
                    args[usize::from(count)].value,
                )?;
                let lens: Vec<u64> = iovs.iter().map(|v| v.len).collect();
                size += (lens.len() * IOVEC_SIZE) as u64 + lens.iter().sum::<u64>();
                plans.push(Plan::Iov { pos, lens });
            }
            _ => {}
        }
        if size > MAX_STAGED {
            return Err(Errno::E2BIG);
        }
    }
    let size = size as usize;
    let base = if size > 0 { rt.alloc(size) } else { 0 };
    let mut staged = Staged {
        rt,
        base,
        size,
        args: *args,
        host_args: *args,
    };
    let me = rt.cage_id();
    let mut at = base;
    for plan in plans {
        match plan {
            Plan::Flat { pos, len, copy_in } => {
                if copy_in && len > 0 {
                    let mut bytes = vec![0; len as usize];
                    read_bytes(rt, args[pos].value, args[pos].owner(), &mut bytes)?;
                    rt.write_own(at, &bytes);
                }
                staged.args[pos] = Arg::own_ptr(at, me);
                staged.host_args[pos] = Arg::new(rt.host_addr(at), me);
                at += len;
            }
            Plan::Iov { pos, lens } => {
                let array = at;
                at += (lens.len() * IOVEC_SIZE) as u64;
                let raw = IoVec::encode_all(lens.into_iter().map(|len| {
                    let element = IoVec {
                        base: rt.host_addr(at),
                        len,
                    };
                    at += len;
                    element
                }));
                rt.write_own(array, &raw);
                staged.args[pos] = Arg::own_ptr(array, me);
                staged.host_args[pos] = Arg::new(rt.host_addr(array), me);
            }
        }
    }
    Ok(staged)
}
