//! Moving a call's buffers between a cage and records, as the catalog names
//! them: the recorder copies them out, the floor and the replay driver write
//! them back in.
//!
//! Every address here is a host address named by its argcage. Bytes in the
//! calling grate's own memory are reached directly (3i refuses same-cage
//! copies); all others through `copy_data_between_cages`.

use abi::catalog::{ArgKind, Filled, Len, RetKind, SyscallInfo};
use boundary::iovec::IoVec;
use boundary::{Arg, Args, CageId, Errno, ThreeI};
use formats::Buffer;

/// Longest string a path or argv element may be.
pub const MAX_CSTR: usize = abi::limits::PATH_MAX;
/// Most elements read from an iovec or argv array.
pub const MAX_ELEMENTS: usize = 1024;

/// How much of each buffer is kept.
#[derive(Clone, Copy, Debug)]
pub struct CaptureLimits {
    /// Bytes kept per buffer; longer buffers are cut and marked.
    pub max_buffer: usize,
}

impl Default for CaptureLimits {
    fn default() -> Self {
        CaptureLimits {
            max_buffer: 1 << 20,
        }
    }
}

/// Reads `out.len()` bytes at host address `addr` owned by `cage`.
pub fn read_bytes(rt: &dyn ThreeI, addr: u64, cage: CageId, out: &mut [u8]) -> Result<(), Errno> {
    if cage == rt.cage_id() {
        rt.read_own(addr.wrapping_sub(rt.host_addr(0)), out);
        Ok(())
    } else {
        rt.read_foreign(addr, cage, out)
    }
}

/// Writes `data` at host address `addr` owned by `cage`.
pub fn write_bytes(rt: &dyn ThreeI, addr: u64, cage: CageId, data: &[u8]) -> Result<(), Errno> {
    if cage == rt.cage_id() {
        rt.write_own(addr.wrapping_sub(rt.host_addr(0)), data);
        Ok(())
    } else {
        rt.write_foreign(addr, cage, data)
    }
}

/// Reads a NUL-terminated string (NUL excluded) at `addr` owned by `cage`.
pub fn read_cstr(rt: &dyn ThreeI, addr: u64, cage: CageId) -> Result<Vec<u8>, Errno> {
    if cage != rt.cage_id() {
        return rt.read_foreign_cstr(addr, cage, MAX_CSTR);
    }
    let mut bytes = vec![0; MAX_CSTR];
    read_bytes(rt, addr, cage, &mut bytes)?;
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or(Errno::ENAMETOOLONG)?;
    bytes.truncate(end);
    Ok(bytes)
}

/// Reads an iovec array of `count` elements at `addr` owned by `cage`.
pub fn read_iovecs(
    rt: &dyn ThreeI,
    addr: u64,
    cage: CageId,
    count: u64,
) -> Result<Vec<IoVec>, Errno> {
    let mut raw = vec![0; IoVec::array_size(count).ok_or(Errno::EINVAL)?];
    read_bytes(rt, addr, cage, &mut raw)?;
    Ok(IoVec::decode_all(&raw))
}

/// Reads a NULL-terminated array of host string pointers (argv, envp).
pub fn read_str_array(rt: &dyn ThreeI, addr: u64, cage: CageId) -> Result<Vec<Vec<u8>>, Errno> {
    let mut strings = Vec::new();
    for index in 0..MAX_ELEMENTS as u64 {
        let mut ptr = [0; 8];
        read_bytes(rt, addr + index * 8, cage, &mut ptr)?;
        match u64::from_le_bytes(ptr) {
            0 => return Ok(strings),
            p => strings.push(read_cstr(rt, p, cage)?),
        }
    }
    Err(Errno::E2BIG)
}

/// Whether `ret` means the call succeeded, by the catalog's result kind.
pub fn succeeded(info: &SyscallInfo, ret: i32) -> bool {
    match info.ret {
        RetKind::MinusOne => ret >= 0,
        RetKind::GuestAddr => Errno::from_ret(ret).is_none(),
        _ => ret >= 0,
    }
}

/// The pointer arguments of a call, by the catalog: position, kind and the
/// argument, NULL pointers left out.
pub fn pointer_args<'a>(
    info: &'a SyscallInfo,
    args: &'a Args,
) -> impl Iterator<Item = (usize, ArgKind, Arg)> + 'a {
    info.args
        .iter()
        .zip(args)
        .enumerate()
        .filter(|(_, (_, arg))| arg.value != 0)
        .map(|(pos, (kind, arg))| (pos, *kind, *arg))
}

/// The byte length a [`Len`] names for this call (strings excluded).
pub fn len_of(len: Len, args: &Args) -> Option<u64> {
    match len {
        Len::Arg(i) => args.get(usize::from(i)).map(|a| a.value),
        Len::Fixed(n) => Some(u64::from(n)),
        Len::CStr => None,
    }
}

/// Reads `full` bytes at `addr`, keeping at most `limits.max_buffer`.
fn capture_region(
    rt: &dyn ThreeI,
    (addr, cage): (u64, CageId),
    full: u64,
    limits: CaptureLimits,
    (arg, index): (u8, u16),
) -> Result<Buffer, Errno> {
    let kept = full.min(limits.max_buffer as u64) as usize;
    let mut data = vec![0; kept];
    read_bytes(rt, addr, cage, &mut data)?;
    Ok(Buffer {
        arg,
        index,
        data,
        truncated_from: ((kept as u64) < full).then_some(full),
    })
}

/// Copies a call's input buffers out of the caller, before the call runs.
pub fn capture_inputs(
    rt: &dyn ThreeI,
    info: &SyscallInfo,
    args: &Args,
    limits: CaptureLimits,
) -> Result<Vec<Buffer>, Errno> {
    let mut buffers = Vec::new();
    for (pos, kind, arg) in pointer_args(info, args) {
        let at = (arg.value, arg.owner());
        let tag = (pos as u8, 0);
        match kind {
            ArgKind::In(Len::CStr) => {
                let data = read_cstr(rt, arg.value, arg.owner())?;
                buffers.push(Buffer {
                    arg: pos as u8,
                    index: 0,
                    data,
                    truncated_from: None,
                });
            }
            ArgKind::In(len) | ArgKind::InOut { cap: len, .. } => {
                if let Some(full) = len_of(len, args) {
                    buffers.push(capture_region(rt, at, full, limits, tag)?);
                }
            }
            ArgKind::IovIn { count } => {
                let iovs = read_iovecs(rt, at.0, at.1, args[usize::from(count)].value)?;
                for (index, iov) in iovs.iter().enumerate() {
                    let region = (iov.base, arg.owner());
                    let tag = (pos as u8, index as u16);
                    buffers.push(capture_region(rt, region, iov.len, limits, tag)?);
                }
            }
            ArgKind::StrArray => {
                for (index, data) in read_str_array(rt, at.0, at.1)?.into_iter().enumerate() {
                    buffers.push(Buffer {
                        arg: pos as u8,
                        index: index as u16,
                        data,
                        truncated_from: None,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(buffers)
}

/// Copies a call's output buffers out of the caller after it returned
/// `ret`, sized by what the call produced.
pub fn capture_outputs(
    rt: &dyn ThreeI,
    info: &SyscallInfo,
    args: &Args,
    ret: i32,
    limits: CaptureLimits,
) -> Result<Vec<Buffer>, Errno> {
    let mut buffers = Vec::new();
    if !succeeded(info, ret) {
        return Ok(buffers);
    }
    for (pos, kind, arg) in pointer_args(info, args) {
        let at = (arg.value, arg.owner());
        let tag = (pos as u8, 0);
        match kind {
            ArgKind::Out { cap, filled } | ArgKind::InOut { cap, filled } => {
                let Some(cap) = len_of(cap, args) else {
                    continue;
                };
                let full = match filled {
                    Filled::Result => cap.min(ret as u64),
                    Filled::Whole | Filled::CStr => cap,
                };
                let mut buffer = capture_region(rt, at, full, limits, tag)?;
                if filled == Filled::CStr {
                    if let Some(end) = buffer.data.iter().position(|&b| b == 0) {
                        buffer.data.truncate(end);
                    }
                }
                buffers.push(buffer);
            }
            ArgKind::IovOut { count } => {
                let iovs = read_iovecs(rt, at.0, at.1, args[usize::from(count)].value)?;
                let mut left = ret as u64;
                for (index, iov) in iovs.iter().enumerate() {
                    if left == 0 {
                        break;
                    }
                    let full = iov.len.min(left);
                    left -= full;
                    let region = (iov.base, arg.owner());
                    let tag = (pos as u8, index as u16);
                    buffers.push(capture_region(rt, region, full, limits, tag)?);
                }
            }
            _ => {}
        }
    }
    Ok(buffers)
}

/// Writes recorded output bytes into the output buffers of `args`, each cut
/// to the capacity that call gave it. Used to answer a call from a record.
pub fn deliver_outputs(
    rt: &dyn ThreeI,
    info: &SyscallInfo,
    args: &Args,
    outputs: &[Buffer],
) -> Result<(), Errno> {
    for buffer in outputs {
        let pos = usize::from(buffer.arg);
        let (Some(kind), Some(arg)) = (info.args.get(pos), args.get(pos)) else {
            continue;
        };
        if arg.value == 0 {
            continue;
        }
        match *kind {
            ArgKind::Out { cap, .. } | ArgKind::InOut { cap, .. } => {
                let room = len_of(cap, args).unwrap_or(0);
                let n = buffer.data.len().min(room as usize);
                write_bytes(rt, arg.value, arg.owner(), &buffer.data[..n])?;
            }
            ArgKind::IovOut { count } => {
                let iovs = read_iovecs(rt, arg.value, arg.owner(), args[usize::from(count)].value)?;
                if let Some(iov) = iovs.get(usize::from(buffer.index)) {
                    let n = buffer.data.len().min(iov.len as usize);
                    write_bytes(rt, iov.base, arg.owner(), &buffer.data[..n])?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{app_args, app_bytes, app_iovecs, fake, APP};
    use boundary::fake::FakeThreeI;

    fn row(name: &str) -> &'static SyscallInfo {
        abi::catalog::by_name(name).unwrap()
    }

    fn datas(buffers: &[Buffer]) -> Vec<(u8, u16, Vec<u8>)> {
        buffers
            .iter()
            .map(|b| (b.arg, b.index, b.data.clone()))
            .collect()
    }

    #[test]
    fn a_write_keeps_its_count_of_bytes_and_a_path_up_to_its_nul() {
        let fake = fake();
        let buf = app_bytes(&fake, 0x100, b"alpha\nand more");
        let write = capture_inputs(
            &fake,
            row("write"),
            &app_args(&[3, buf, 6]),
            CaptureLimits::default(),
        );
        assert_eq!(datas(&write.unwrap()), [(1, 0, b"alpha\n".to_vec())]);
        let path = app_bytes(&fake, 0x200, b"demo-out/notes.txt\0junk");
        let open = capture_inputs(
            &fake,
            row("open"),
            &app_args(&[path, 0, 0]),
            CaptureLimits::default(),
        );
        assert_eq!(
            datas(&open.unwrap()),
            [(0, 0, b"demo-out/notes.txt".to_vec())]
        );
    }

    #[test]
    fn a_writev_keeps_each_iovec_base_as_its_own_buffer() {
        let fake = fake();
        let a = app_bytes(&fake, 0x100, b"abc");
        let b = app_bytes(&fake, 0x200, b"defgh");
        let iov = app_iovecs(&fake, 0x300, &[(a, 3), (b, 5)]);
        let got = capture_inputs(
            &fake,
            row("writev"),
            &app_args(&[1, iov, 2]),
            CaptureLimits::default(),
        );
        assert_eq!(
            datas(&got.unwrap()),
            [(1, 0, b"abc".to_vec()), (1, 1, b"defgh".to_vec())]
        );
    }

    #[test]
    fn a_cut_buffer_says_how_long_it_was() {
        let fake = fake();
        let buf = app_bytes(&fake, 0x100, b"0123456789");
        let limits = CaptureLimits { max_buffer: 4 };
        let got = capture_inputs(&fake, row("write"), &app_args(&[3, buf, 10]), limits).unwrap();
        assert_eq!(got[0].data, b"0123");
        assert_eq!(got[0].truncated_from, Some(10));
    }

    #[test]
    fn outputs_are_as_long_as_the_result_says_or_the_whole_struct() {
        let fake = fake();
        let buf = app_bytes(&fake, 0x100, b"hello world");
        let read = capture_outputs(
            &fake,
            row("read"),
            &app_args(&[0, buf, 64]),
            5,
            CaptureLimits::default(),
        );
        assert_eq!(datas(&read.unwrap()), [(1, 0, b"hello".to_vec())]);
        let st = app_bytes(&fake, 0x400, &[9; 104]);
        let fstat = capture_outputs(
            &fake,
            row("fstat"),
            &app_args(&[3, st]),
            0,
            CaptureLimits::default(),
        );
        assert_eq!(fstat.unwrap()[0].data, [9; 104]);
        let fds = app_bytes(&fake, 0x600, &[3, 0, 0, 0, 4, 0, 0, 0]);
        let pipe = capture_outputs(
            &fake,
            row("pipe"),
            &app_args(&[fds]),
            0,
            CaptureLimits::default(),
        );
        assert_eq!(pipe.unwrap()[0].data, [3, 0, 0, 0, 4, 0, 0, 0]);
    }

    #[test]
    fn a_readv_fills_its_iovecs_in_order_up_to_the_result() {
        let fake = fake();
        let a = app_bytes(&fake, 0x100, b"abcd");
        let b = app_bytes(&fake, 0x200, b"efgh");
        let c = app_bytes(&fake, 0x300, b"ijkl");
        let iov = app_iovecs(&fake, 0x400, &[(a, 4), (b, 4), (c, 4)]);
        let got = capture_outputs(
            &fake,
            row("readv"),
            &app_args(&[0, iov, 3]),
            6,
            CaptureLimits::default(),
        );
        assert_eq!(
            datas(&got.unwrap()),
            [(1, 0, b"abcd".to_vec()), (1, 1, b"ef".to_vec())]
        );
    }

    #[test]
    fn a_failed_call_has_no_outputs() {
        let fake = fake();
        let buf = app_bytes(&fake, 0x100, b"stale");
        let got = capture_outputs(
            &fake,
            row("read"),
            &app_args(&[0, buf, 64]),
            -9,
            CaptureLimits::default(),
        );
        assert!(got.unwrap().is_empty());
    }

    #[test]
    fn delivered_outputs_land_in_the_callers_buffers_cut_to_their_room() {
        let fake = fake();
        let buf = app_bytes(&fake, 0x100, &[0; 8]);
        let outputs = [Buffer {
            arg: 1,
            index: 0,
            data: b"longer than four".to_vec(),
            truncated_from: None,
        }];
        deliver_outputs(&fake, row("read"), &app_args(&[0, buf, 4]), &outputs).unwrap();
        assert_eq!(fake.peek(buf, 8), b"long\0\0\0\0");
        let a = app_bytes(&fake, 0x200, &[0; 3]);
        let b = app_bytes(&fake, 0x300, &[0; 3]);
        let iov = app_iovecs(&fake, 0x400, &[(a, 3), (b, 3)]);
        let second = [Buffer {
            arg: 1,
            index: 1,
            data: b"xyz!".to_vec(),
            truncated_from: None,
        }];
        deliver_outputs(&fake, row("readv"), &app_args(&[0, iov, 2]), &second).unwrap();
        assert_eq!(
            (fake.peek(a, 3), fake.peek(b, 3)),
            (vec![0; 3], b"xyz".to_vec())
        );
    }

    #[test]
    fn foreign_bytes_move_through_copy_data_and_own_bytes_do_not() {
        let fake = fake();
        let buf = app_bytes(&fake, 0x100, b"abc");
        capture_inputs(
            &fake,
            row("write"),
            &app_args(&[3, buf, 3]),
            CaptureLimits::default(),
        )
        .unwrap();
        let copies = fake
            .calls()
            .into_iter()
            .filter(|c| c.0 == boundary::nr::COPY_DATA_BETWEEN_CAGES)
            .count();
        assert_eq!(copies, 1);
        assert_eq!(FakeThreeI::host(APP, 0x100), buf);
    }
}
