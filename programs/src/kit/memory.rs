//! Reading and writing a caller's memory. Pointer arguments are host
//! addresses in the memory of the pointer's argcage; a wasm grate reaches
//! them only through `copy_data_between_cages` (docs/lind-3i.md §5, §9.2), which
//! `read_foreign`/`write_foreign` wrap. A bad pointer is EFAULT, never a panic.

use boundary::{Arg, Errno, ThreeI};

/// PATH_MAX, NUL included.
use abi::limits::PATH_MAX;
/// One translated iovec: `{u64 host base, u64 len}` (docs/lind-3i.md §9.3).
pub use boundary::iovec::IoVec as Iovec;

/// The path a pointer argument names. Not UTF-8 is replaced lossily: the
/// bundled grates only compare and print paths.
pub fn read_path(rt: &dyn ThreeI, arg: Arg) -> Result<String, Errno> {
    if arg.value == 0 {
        return Err(Errno::EFAULT);
    }
    let bytes = rt.read_foreign_cstr(arg.value, arg.owner(), PATH_MAX)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `len` bytes at a pointer argument.
pub fn read_in(rt: &dyn ThreeI, arg: Arg, len: usize) -> Result<Vec<u8>, Errno> {
    let mut out = vec![0u8; len];
    if len > 0 && arg.value == 0 {
        return Err(Errno::EFAULT);
    }
    rt.read_foreign(arg.value, arg.owner(), &mut out)?;
    Ok(out)
}

/// Writes `data` at a pointer argument.
pub fn write_out(rt: &dyn ThreeI, arg: Arg, data: &[u8]) -> Result<(), Errno> {
    if !data.is_empty() && arg.value == 0 {
        return Err(Errno::EFAULT);
    }
    rt.write_foreign(arg.value, arg.owner(), data)
}

/// The `count` iovecs an iovec-array argument points at.
pub fn read_iovecs(rt: &dyn ThreeI, arg: Arg, count: u64) -> Result<Vec<Iovec>, Errno> {
    let size = Iovec::array_size(count).ok_or(Errno::EINVAL)?;
    Ok(Iovec::decode_all(&read_in(rt, arg, size)?))
}

/// Concatenates at most `limit` bytes from `iovs`, whose bases live in the
/// same cage as the iovec array (`arg`'s owner).
pub fn gather(rt: &dyn ThreeI, arg: Arg, iovs: &[Iovec], limit: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    for iov in iovs {
        let left = limit - out.len();
        if left == 0 {
            break;
        }
        let take = usize::try_from(iov.len).unwrap_or(usize::MAX).min(left);
        out.extend(read_in(
            rt,
            Arg {
                value: iov.base,
                ..arg
            },
            take,
        )?);
    }
    Ok(out)
}

/// Spreads `data` over `iovs` in order.
pub fn scatter(rt: &dyn ThreeI, arg: Arg, iovs: &[Iovec], mut data: &[u8]) -> Result<(), Errno> {
    for iov in iovs {
        if data.is_empty() {
            break;
        }
        let take = usize::try_from(iov.len)
            .unwrap_or(usize::MAX)
            .min(data.len());
        write_out(
            rt,
            Arg {
                value: iov.base,
                ..arg
            },
            &data[..take],
        )?;
        data = &data[take..];
    }
    Ok(())
}

/// The total length `iovs` describe, saturating.
pub fn iovecs_len(iovs: &[Iovec]) -> u64 {
    iovs.iter()
        .fold(0u64, |sum, iov| sum.saturating_add(iov.len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iovec_lengths_saturate() {
        let iovs = [
            Iovec {
                base: 1,
                len: u64::MAX,
            },
            Iovec { base: 2, len: 5 },
        ];
        assert_eq!(iovecs_len(&iovs), u64::MAX);
    }
}
