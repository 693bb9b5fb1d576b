//! The C statement for each call the reproducer can express, from the
//! catalog's names: the call, how its result is checked, and what follows
//! (an fd mapped, unmapped).

use abi::catalog::{lookup, RetKind};
use formats::SyscallRecord;

use super::{c_str, Program};

/// How a result is checked.
#[derive(Clone, Copy)]
pub enum Check {
    /// The same number (counts, statuses, offsets, errors).
    Exact,
    /// Both succeeded or both failed with the same errno (fd numbers,
    /// ids and values legitimately differ).
    Success,
}

/// The bytes of the input buffer at `pos`.
fn input(call: &SyscallRecord, pos: usize) -> Option<&formats::Buffer> {
    call.inputs
        .iter()
        .find(|b| usize::from(b.arg) == pos && b.index == 0)
}

/// What the C statement for `call` is, if it can be written: the call
/// expression, how its result is checked, and what to do with it after.
pub fn statement(p: &mut Program, call: &SyscallRecord) -> Option<(String, Check, String)> {
    let a = call.full_args();
    let v = |i: usize| a[i].0 as i64;
    let fd = |i: usize| format!("FD({})", a[i].0 as i32);
    let path = |i: usize| -> Option<String> {
        let b = input(call, i)?;
        (b.truncated_from.is_none()).then(|| c_str(&contained(&b.data)))
    };
    let bytes = |p: &mut Program, i: usize, count: i64| -> Option<String> {
        let b = input(call, i)?;
        (b.truncated_from.is_none() && b.data.len() as i64 == count).then(|| p.array(&b.data))
    };
    let ok = call.result >= 0;
    let map_result = format!("if (r >= 0) MAP({}, r);", call.result);
    let name = lookup(call.nr)?.name;
    Some(match name {
        "read" => (
            format!("read({}, scratch, {})", fd(0), v(2).min(SCRATCH)),
            Check::Exact,
            String::new(),
        ),
        "pread64" => (
            format!("pread({}, scratch, {}, {})", fd(0), v(2).min(SCRATCH), v(3)),
            Check::Exact,
            String::new(),
        ),
        "write" => {
            let data = bytes(p, 1, v(2))?;
            (
                format!("write({}, {data}, {})", fd(0), v(2)),
                Check::Exact,
                String::new(),
            )
        }
        "pwrite64" => {
            let data = bytes(p, 1, v(2))?;
            (
                format!("pwrite({}, {data}, {}, {})", fd(0), v(2), v(3)),
                Check::Exact,
                String::new(),
            )
        }
        "writev" => {
            let count = v(2);
            if !(0..=IOV_MAX).contains(&count) {
                return None;
            }
            let mut parts = Vec::new();
            for i in 0..count {
                let b = call
                    .inputs
                    .iter()
                    .find(|b| b.arg == 1 && i64::from(b.index) == i)?;
                if b.truncated_from.is_some() {
                    return None;
                }
                let name = p.array(&b.data);
                parts.push(format!("{{(void *){name}, {}}}", b.data.len()));
            }
            let iov = format!("(struct iovec[]){{{}}}", parts.join(", "));
            (
                format!("writev({}, {iov}, {count})", fd(0)),
                Check::Exact,
                String::new(),
            )
        }
        "open" => {
            let path = path(0)?;
            (
                format!("open({path}, {}, 0{:o})", v(1), v(2)),
                Check::Success,
                map_result,
            )
        }
        "openat" => {
            let path = path(1)?;
            let dir = if a[0].0 as i32 == abi::flags::AT_FDCWD {
                "AT_FDCWD".to_owned()
            } else {
                fd(0)
            };
            (
                format!("openat({dir}, {path}, {}, 0{:o})", v(2), v(3)),
                Check::Success,
                map_result,
            )
        }
        "close" => (
            format!("close({})", fd(0)),
            Check::Exact,
            format!("if (r == 0) UNMAP({});", a[0].0 as i32),
        ),
        "lseek" => (
            format!("lseek({}, {}, {})", fd(0), v(1), v(2)),
            Check::Exact,
            String::new(),
        ),
        "ftruncate" => (
            format!("ftruncate({}, {})", fd(0), v(1)),
            Check::Exact,
            String::new(),
        ),
        "fsync" => (format!("fsync({})", fd(0)), Check::Exact, String::new()),
        "dup" => (format!("dup({})", fd(0)), Check::Success, map_result),
        "dup2" => (
            format!("dup2({}, {})", fd(0), a[1].0 as i32),
            Check::Success,
            map_result,
        ),
        "dup3" => (
            format!("dup3({}, {}, {})", fd(0), a[1].0 as i32, v(2)),
            Check::Success,
            map_result,
        ),
        "fcntl" => {
            let cmd = a[1].0 as i32;
            let dups =
                cmd == abi::flags::fcntl::F_DUPFD || cmd == abi::flags::fcntl::F_DUPFD_CLOEXEC;
            let after = if dups { map_result } else { String::new() };
            (
                format!("fcntl({}, {cmd}, {})", fd(0), v(2)),
                Check::Success,
                after,
            )
        }
        "readv" => {
            let count = v(2);
            if !(0..=IOV_MAX).contains(&count) {
                return None;
            }
            let mut parts = Vec::new();
            let mut at = 0i64;
            for i in 0..count {
                let b = call
                    .outputs
                    .iter()
                    .find(|b| b.arg == 1 && i64::from(b.index) == i);
                let len = b.map_or(0, |b| b.data.len() as i64);
                parts.push(format!("{{scratch + {at}, {len}}}"));
                at += len;
            }
            if at > SCRATCH {
                return None;
            }
            let iov = format!("(struct iovec[]){{{}}}", parts.join(", "));
            (
                format!("readv({}, {iov}, {count})", fd(0)),
                Check::Exact,
                String::new(),
            )
        }
        "fstat" => (
            format!("fstat({}, &st)", fd(0)),
            Check::Exact,
            String::new(),
        ),
        "stat" => (
            format!("stat({}, &st)", path(0)?),
            Check::Exact,
            String::new(),
        ),
        "lstat" => (
            format!("lstat({}, &st)", path(0)?),
            Check::Exact,
            String::new(),
        ),
        "access" => (
            format!("access({}, {})", path(0)?, v(1)),
            Check::Exact,
            String::new(),
        ),
        "mkdir" => (
            format!("mkdir({}, 0{:o})", path(0)?, v(1)),
            Check::Exact,
            String::new(),
        ),
        "rmdir" => (format!("rmdir({})", path(0)?), Check::Exact, String::new()),
        "unlink" => (format!("unlink({})", path(0)?), Check::Exact, String::new()),
        "chdir" => (format!("chdir({})", path(0)?), Check::Exact, String::new()),
        "rename" => {
            let (from, to) = (path(0)?, path(1)?);
            (format!("rename({from}, {to})"), Check::Exact, String::new())
        }
        "pipe" => {
            let out = call.outputs.iter().find(|b| b.arg == 0).filter(|_| ok);
            let after = match out.map(|b| b.data.as_slice()) {
                Some([a0, a1, a2, a3, b0, b1, b2, b3, ..]) => format!(
                    "if (r == 0) {{ MAP({}, pair[0]); MAP({}, pair[1]); }}",
                    i32::from_le_bytes([*a0, *a1, *a2, *a3]),
                    i32::from_le_bytes([*b0, *b1, *b2, *b3])
                ),
                _ => String::new(),
            };
            ("pipe(pair)".to_owned(), Check::Exact, after)
        }
        "wait4" => {
            let pid = v(0);
            let target = if pid > 0 {
                format!("PID({pid})")
            } else {
                pid.to_string()
            };
            (
                format!("waitpid({target}, &status, {})", v(2)),
                Check::Success,
                String::new(),
            )
        }
        "getpid" | "getppid" | "getuid" | "geteuid" | "getgid" | "getegid" => {
            (format!("{name}()"), Check::Success, String::new())
        }
        _ => return None,
    })
}

/// Bytes of the buffer reads go into (the prelude's `scratch`).
pub const SCRATCH: i64 = 1 << 16;

/// The most iovecs a readv or writev may pass (Linux's `IOV_MAX`): a
/// record claiming more is not expressed.
const IOV_MAX: i64 = 1024;

/// A recorded path made to stay below the directory the reproducer runs
/// in: the leading `/` dropped and each `..` renamed `__`, so "run it in
/// an empty directory" holds whatever the log says.
pub fn contained(path: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
        .map(|part| if part == b".." { &b"__"[..] } else { part })
        .collect();
    if parts.is_empty() {
        return b".".to_vec();
    }
    parts.join(&b'/')
}

pub fn check_of(call: &SyscallRecord, check: Check) -> char {
    let info = lookup(call.nr);
    match (check, info.map(|i| i.ret)) {
        (Check::Success, _) | (_, Some(RetKind::Fd | RetKind::Value | RetKind::ChildId)) => 's',
        _ => 'x',
    }
}

#[cfg(test)]
mod tests {
    use super::contained;

    #[test]
    fn a_path_never_leaves_the_directory() {
        for (given, want) in [
            (&b"/etc/passwd"[..], &b"etc/passwd"[..]),
            (b"../../x", b"__/__/x"),
            (b"a/./b/../c", b"a/b/__/c"),
            (b"//", b"."),
            (b"demo-out/notes.txt", b"demo-out/notes.txt"),
        ] {
            assert_eq!(contained(given), want, "{}", String::from_utf8_lossy(given));
        }
    }
}
