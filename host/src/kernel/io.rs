//! Data calls on fds: the fd is found in its argcage's table (§4.2).

use super::openfile::errno;
use super::Call;
use boundary::iovec::IoVec;
use boundary::Errno;

pub(super) fn call(c: &Call<'_>) -> Option<Result<i32, Errno>> {
    Some(match c.nr {
        0 => read(c),
        1 => write(c),
        8 => lseek(c),
        17 => pread(c),
        18 => pwrite(c),
        19 => readv(c),
        20 => writev(c),
        74 => c.fd_by_arg(0).and_then(|f| sync(&f, false)).map(|()| 0),
        75 => c.fd_by_arg(0).and_then(|f| sync(&f, true)).map(|()| 0),
        77 => ftruncate(c),
        _ => return None,
    })
}

/// A byte count as the i32 every result is (docs/lind-3i.md §2.4).
fn count(n: usize) -> i32 {
    n as i32
}

fn read(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    let len = c.val(2) as usize;
    // Check the destination first, so a bad buffer consumes no input.
    c.check_mem(c.val(1), c.args[1].cage, len)?;
    let mut buf = vec![0; len];
    let n = file.read(&mut buf, c.inner)?;
    c.write_arg(1, &buf[..n])?;
    Ok(count(n))
}

fn write(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    let data = c.read_arg(1, c.val(2) as usize)?;
    file.write(&data, c.inner).map(count)
}

fn pread(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    let len = c.val(2) as usize;
    c.check_mem(c.val(1), c.args[1].cage, len)?;
    let off = u64::try_from(c.val(3) as i64).map_err(|_| Errno::EINVAL)?;
    let mut buf = vec![0; len];
    let n = file.pread(&mut buf, off)?;
    c.write_arg(1, &buf[..n])?;
    Ok(count(n))
}

fn pwrite(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    let off = u64::try_from(c.val(3) as i64).map_err(|_| Errno::EINVAL)?;
    let data = c.read_arg(1, c.val(2) as usize)?;
    file.pwrite(&data, off).map(count)
}

/// The `{u64 host_base, u64 len}` array of argument 1; each base is a host
/// address in the same cage as the array.
fn iovecs(c: &Call<'_>) -> Result<Vec<(u64, usize)>, Errno> {
    let size = IoVec::array_size(c.int(2) as u64).ok_or(Errno::EINVAL)?;
    let raw = c.read_arg(1, size)?;
    Ok(IoVec::decode_all(&raw)
        .into_iter()
        .map(|v| (v.base, v.len as usize))
        .collect())
}

fn readv(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    let iov = iovecs(c)?;
    let owner = c.args[1].cage;
    for &(base, len) in &iov {
        c.check_mem(base, owner, len)?;
    }
    let total: usize = iov.iter().map(|v| v.1).sum();
    let mut buf = vec![0; total];
    let n = file.read(&mut buf, c.inner)?;
    let mut at = 0;
    for (base, len) in iov {
        if at >= n {
            break;
        }
        let take = len.min(n - at);
        c.write_mem(base, owner, &buf[at..at + take])?;
        at += take;
    }
    Ok(count(n))
}

fn writev(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    let owner = c.args[1].cage;
    let mut data = Vec::new();
    for (base, len) in iovecs(c)? {
        data.extend(c.read_mem(base, owner, len)?);
    }
    file.write(&data, c.inner).map(count)
}

fn lseek(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    // Results are 32-bit: a large offset comes back truncated, as on Lind.
    file.seek(c.val(1) as i64, c.int(2)).map(|pos| pos as i32)
}

fn sync(file: &super::openfile::OpenFile, data_only: bool) -> Result<(), Errno> {
    let f = file.file().ok_or(Errno::EINVAL)?;
    if data_only {
        f.sync_data().map_err(errno)
    } else {
        f.sync_all().map_err(errno)
    }
}

fn ftruncate(c: &Call<'_>) -> Result<i32, Errno> {
    let file = c.fd_by_arg(0)?;
    let len = u64::try_from(c.val(1) as i64).map_err(|_| Errno::EINVAL)?;
    let f = file.file().ok_or(Errno::EINVAL)?;
    if file.is_dir() {
        return Err(Errno::EINVAL);
    }
    f.set_len(len).map_err(errno)?;
    Ok(0)
}
