//! Laying a call out in the engine's own memory, for issuing it to another
//! stack: [`stage_copy`] lays out a call the tee caught, from the copies
//! its app thread took, for the secondary; [`stage_record`] rebuilds a
//! recorded call for a replay driver. (An execve's path and argv:
//! `exec_args`.)
//!
//! For the secondary: the primary writes the app's buffers and the app may
//! change them once it has its result, so the secondary never touches
//! them. Every buffer the catalog follows is a copy in the tee's own memory
//! (only that pointer and its argcage change: scalar argcages name the
//! caller and grates rely on that).

use crate::capture::len_of;
use abi::catalog::{ArgKind, Len, SyscallInfo};
use boundary::consts::{IOVEC_SIZE, UNUSED_ARG};
use boundary::guest::OwnBuf;
use boundary::iovec::{IoVec, IOV_MAX};
use boundary::{Arg, Args, ThreeI};
use formats::{Buffer, SyscallRecord};

/// Largest scratch region staged for one call; bigger calls are not duplicated.
pub const MAX_STAGED: u64 = abi::limits::MAX_CALL_BYTES;

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
    let info = abi::catalog::lookup(record.nr)?;
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
    use crate::testing::{app_args, app_bytes, fake, APP, ME};
    use boundary::consts::GRATE_MEMORY_FLAG;

    /// The copies the tee's app thread takes of `write(3, buf, 6)` or
    /// `read(3, buf, 16)` by APP.
    fn copies(nr: u32, values: &[u64], inputs: Vec<Buffer>) -> SyscallRecord {
        formats::build::call_nr(0, APP.0, nr, values, 0)
            .inputs(inputs)
            .syscall()
    }

    #[test]
    fn an_output_buffer_is_own_scratch_and_scalars_keep_the_callers_argcage() {
        let fake = fake();
        let buf = app_bytes(&fake, 0x100, b"the app's bytes");
        let args = app_args(&[9, buf, 16]);
        let info = abi::catalog::by_name("read").unwrap();
        let staged = stage_copy(&fake, info, args, &copies(0, &[9, buf, 16], vec![])).unwrap();
        assert_eq!(staged.args[0], args[0], "the fd keeps the caller's argcage");
        assert_eq!(staged.args[2], args[2]);
        assert_eq!(staged.args[1].cage, ME.0 | GRATE_MEMORY_FLAG);
        assert_eq!(
            staged.host_args[1].value >> 32,
            ME.0,
            "in the engine's memory"
        );
        assert_eq!(
            fake.peek(buf, 15),
            b"the app's bytes",
            "the app's buffer is untouched"
        );
    }

    #[test]
    fn an_input_buffer_is_the_copy_not_the_apps_memory() {
        let fake = fake();
        // The app has changed its buffer since the call returned.
        let buf = app_bytes(&fake, 0x100, b"later!");
        let args = app_args(&[3, buf, 6]);
        let info = abi::catalog::by_name("write").unwrap();
        let taken = copies(
            1,
            &[3, buf, 6],
            vec![Buffer {
                arg: 1,
                index: 0,
                data: b"alpha\n".to_vec(),
                truncated_from: None,
            }],
        );
        let staged = stage_copy(&fake, info, args, &taken).unwrap();
        assert_eq!(staged.args[1].cage, ME.0 | GRATE_MEMORY_FLAG);
        assert_eq!(fake.peek(staged.host_args[1].value, 6), b"alpha\n");
    }

    #[test]
    fn a_call_too_large_to_stage_is_refused() {
        let fake = fake();
        let buf = boundary::fake::FakeThreeI::host(APP, 0x100);
        let values = [0, buf, MAX_STAGED + 1];
        let info = abi::catalog::by_name("read").unwrap();
        assert!(stage_copy(&fake, info, app_args(&values), &copies(0, &values, vec![])).is_none());
    }
}
