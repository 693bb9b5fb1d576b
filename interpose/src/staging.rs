//! Laying a call out in the engine's own memory, for issuing it to another
//! stack: [`stage`] gives a caught call scratch outputs for the tee's
//! secondary; [`stage_record`] rebuilds a recorded call for a replay
//! driver. (An execve's path and argv: `exec_args`.)
//!
//! For the secondary:
//!
//! The primary writes the app's buffers; the secondary must never touch them,
//! so every output argument is swapped for a buffer in the tee's own memory
//! (only that pointer and its argcage change: scalar argcages name the caller
//! and grates rely on that). All scratch for one call sits in one region, so
//! the floor can tell which in-flight call a buffer belongs to.

use crate::capture::{len_of, pointer_args, read_bytes, read_iovecs};
use boundary::consts::{IOVEC_SIZE, UNUSED_ARG};
use boundary::guest::OwnBuf;
use boundary::iovec::{IoVec, IOV_MAX};
use boundary::{Arg, Args, Errno, ThreeI};
use formats::{ArgKind, Buffer, Len, SyscallInfo, SyscallRecord};

/// Largest scratch region staged for one call; bigger calls are not duplicated.
pub const MAX_STAGED: u64 = abi::limits::MAX_CALL_BYTES;

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

/// Buffers a call's arguments point at, kept alive until it returns.
pub struct StagedRecord<'a> {
    /// The arguments to issue (own pointers flagged for translation).
    pub args: Args,
    /// The same as host addresses, to read the outputs back.
    pub host_args: Args,
    _buffers: Vec<OwnBuf<'a>>,
}

fn input(record: &SyscallRecord, pos: usize) -> impl Iterator<Item = &Buffer> {
    record
        .inputs
        .iter()
        .filter(move |b| usize::from(b.arg) == pos)
}

/// Lays a recorded call out in this cage's own memory: its recorded inputs
/// copied in, scratch for its outputs (a replay driver issues it from
/// there). `None` for a call the catalog does not know or whose outputs
/// would not fit.
pub fn stage_record<'a>(rt: &'a dyn ThreeI, record: &SyscallRecord) -> Option<StagedRecord<'a>> {
    let info = formats::lookup(record.nr)?;
    let mut args = Arg::all_unused(rt.cage_id());
    for (slot, (value, _)) in args.iter_mut().zip(record.full_args()) {
        slot.value = value;
    }
    stage_copies(rt, info, args, record, Unfollowed::Null)
}

/// What staging does with a pointer the catalog does not follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unfollowed {
    /// NULL: a recorded address means nothing here.
    Null,
    /// Kept as given: the caller's own pointer, with its argcage.
    Keep,
}

/// Lays a call the primary answered out in this cage's own memory for the
/// tee's secondary: `args` as the app gave them (fds already translated,
/// scalar argcages naming the app), every buffer the catalog follows
/// copied from `copies`' captured inputs or given scratch sized by its
/// outputs, so the app may change or free its memory meanwhile.
pub fn stage_copy<'a>(
    rt: &'a dyn ThreeI,
    info: &SyscallInfo,
    args: Args,
    copies: &SyscallRecord,
) -> Option<StagedRecord<'a>> {
    stage_copies(rt, info, args, copies, Unfollowed::Keep)
}

fn stage_copies<'a>(
    rt: &'a dyn ThreeI,
    info: &SyscallInfo,
    mut args: Args,
    record: &SyscallRecord,
    unfollowed: Unfollowed,
) -> Option<StagedRecord<'a>> {
    let me = rt.cage_id();
    let full = record.full_args();
    let mut host_args = args;
    let mut buffers = Vec::new();
    for (pos, kind) in info.args.iter().enumerate() {
        // A recorded address means nothing here: an address slot gets a
        // buffer of the driver's own or NULL, never the value the log
        // holds (a crafted one would have the runtime read wherever it
        // points). Guest addresses (mmap, brk) are not dereferenced.
        let address = kind.is_address() && *kind != ArgKind::GuestAddr;
        if full[pos].0 == 0 || full[pos].0 == UNUSED_ARG {
            if address {
                args[pos].value = 0;
                host_args[pos].value = 0;
            }
            continue;
        }
        let buf = match *kind {
            ArgKind::In(Len::CStr) => OwnBuf::cstr(rt, &input(record, pos).next()?.data),
            ArgKind::In(len) | ArgKind::InOut { cap: len, .. } => {
                let size = len_of(len, &args).unwrap_or(0).min(MAX_STAGED) as usize;
                let buf = OwnBuf::zeroed(rt, size);
                if let Some(data) = input(record, pos).next() {
                    rt.write_own(buf.addr(), &data.data[..data.data.len().min(size)]);
                }
                buf
            }
            ArgKind::Out { cap, .. } => {
                let size = len_of(cap, &args).unwrap_or(0);
                if size > MAX_STAGED {
                    return None;
                }
                OwnBuf::zeroed(rt, size as usize)
            }
            ArgKind::IovIn { .. } => {
                iov_array(rt, input(record, pos).map(|b| b.data.clone()), &mut buffers)
            }
            ArgKind::IovOut { .. } => {
                let lens = record
                    .outputs
                    .iter()
                    .filter(|b| usize::from(b.arg) == pos)
                    .map(|b| {
                        vec![
                            0;
                            b.truncated_from
                                .unwrap_or(b.data.len() as u64)
                                .min(MAX_STAGED) as usize
                        ]
                    });
                iov_array(rt, lens, &mut buffers)
            }
            // Pointers the catalog does not follow (and argv arrays, which
            // only exec takes, staged apart): nothing to rebuild them from.
            ArgKind::Ptr if unfollowed == Unfollowed::Keep => continue,
            ArgKind::StrArray | ArgKind::Ptr => {
                args[pos].value = 0;
                host_args[pos].value = 0;
                continue;
            }
            _ => continue,
        };
        args[pos] = buf.arg();
        host_args[pos] = Arg::new(rt.host_addr(buf.addr()), me);
        buffers.push(buf);
    }
    Some(StagedRecord {
        args,
        host_args,
        _buffers: buffers,
    })
}

/// Builds a translated iovec array over fresh copies of `elements`.
fn iov_array<'a>(
    rt: &'a dyn ThreeI,
    elements: impl Iterator<Item = Vec<u8>>,
    keep: &mut Vec<OwnBuf<'a>>,
) -> OwnBuf<'a> {
    let mut array = Vec::new();
    for data in elements.take(IOV_MAX) {
        let buf = OwnBuf::from_bytes(rt, &data);
        array.push(IoVec {
            base: rt.host_addr(buf.addr()),
            len: data.len() as u64,
        });
        keep.push(buf);
    }
    let mut raw = IoVec::encode_all(array);
    // A zero-element array still needs an address to point at.
    raw.resize(raw.len().max(IOVEC_SIZE), 0);
    OwnBuf::from_bytes(rt, &raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{app_args, app_bytes, app_iovecs, fake, APP, ME};
    use boundary::consts::GRATE_MEMORY_FLAG;

    #[test]
    fn an_output_buffer_is_swapped_for_own_scratch_and_nothing_else_changes() {
        let fake = fake();
        let buf = app_bytes(&fake, 0x100, b"the app's bytes");
        let args = app_args(&[9, buf, 16]);
        let staged = stage(&fake, formats::by_name("read").unwrap(), &args).unwrap();
        assert_eq!(staged.args[0], args[0], "the fd keeps the caller's argcage");
        assert_eq!(staged.args[2], args[2]);
        assert_eq!(staged.args[1].cage, ME.0 | GRATE_MEMORY_FLAG);
        let host = staged.host_args[1].value;
        assert_eq!(host >> 32, ME.0, "scratch is in the engine's memory");
        let (lo, hi) = staged.range().unwrap();
        assert!(lo <= host && host + 16 <= hi);
        assert_eq!(
            fake.peek(buf, 15),
            b"the app's bytes",
            "the app's buffer is untouched"
        );
        assert_eq!(
            staged.args[1].value >> 32,
            0,
            "a guest pointer, for glibc to translate"
        );
    }

    #[test]
    fn an_input_buffer_stays_the_callers() {
        let fake = fake();
        let buf = app_bytes(&fake, 0x100, b"alpha\n");
        let args = app_args(&[3, buf, 6]);
        let staged = stage(&fake, formats::by_name("write").unwrap(), &args).unwrap();
        assert_eq!(staged.args, args);
        assert_eq!(staged.range(), None);
    }

    #[test]
    fn an_in_out_buffer_is_copied_in_and_an_iovec_array_rebuilt() {
        let fake = fake();
        // accept's socklen_t is read and rewritten.
        let len = app_bytes(&fake, 0x100, &16u32.to_le_bytes());
        let addr = app_bytes(&fake, 0x200, &[0; 16]);
        let args = app_args(&[4, addr, len]);
        let staged = stage(&fake, formats::by_name("accept").unwrap(), &args).unwrap();
        assert_eq!(fake.peek(staged.host_args[2].value, 4), 16u32.to_le_bytes());

        let a = app_bytes(&fake, 0x300, &[0; 4]);
        let b = app_bytes(&fake, 0x400, &[0; 6]);
        let iov = app_iovecs(&fake, 0x500, &[(a, 4), (b, 6)]);
        let staged = stage(
            &fake,
            formats::by_name("readv").unwrap(),
            &app_args(&[0, iov, 2]),
        )
        .unwrap();
        let array = fake.peek(staged.host_args[1].value, 32);
        let lens =
            [&array[8..16], &array[24..32]].map(|l| u64::from_le_bytes(l.try_into().unwrap()));
        assert_eq!(lens, [4, 6]);
        let base = u64::from_le_bytes(array[..8].try_into().unwrap());
        assert_eq!(base >> 32, ME.0);
    }

    #[test]
    fn a_call_too_large_to_stage_is_refused() {
        let fake = fake();
        let buf = boundary::fake::FakeThreeI::host(APP, 0x100);
        let args = app_args(&[0, buf, MAX_STAGED + 1]);
        assert!(matches!(
            stage(&fake, formats::by_name("read").unwrap(), &args),
            Err(Errno::E2BIG)
        ));
    }
}
