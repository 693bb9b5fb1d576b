//! Calls for people: `write(3, "hello\n", 6) = 6`, decoded by the catalog.
//! Shared by `tee-log dump` and tee-replay's divergence reports.

use abi::catalog::{lookup, ArgKind, RetKind};
use formats::escape_bytes;
use formats::{Buffer, SyscallRecord, UNUSED_ARG};
use std::fmt::Write;

/// The name of errno `n`, if the ABI table has it.
pub fn errno_name(n: i64) -> Option<&'static str> {
    i32::try_from(n).ok().and_then(abi::errno::name)
}

/// `"bytes"` escaped and cut at `max` bytes (`...` marks a cut).
pub fn quote(data: &[u8], max: usize, truncated: bool) -> String {
    let cut = data.len() > max;
    let shown = &data[..data.len().min(max)];
    let more = if cut || truncated { "..." } else { "" };
    format!("\"{}\"{more}", escape_bytes(shown))
}

fn buffers_at(record: &SyscallRecord, pos: usize, outputs: bool) -> Vec<&Buffer> {
    let list = if outputs {
        &record.outputs
    } else {
        &record.inputs
    };
    list.iter().filter(|b| usize::from(b.arg) == pos).collect()
}

/// Whether a recorded result is a failure, as strace -c counts errors:
/// an errno for most calls, `-1` for the calls that return it, never for
/// an address (addresses look negative).
pub fn is_error(nr: u32, result: i64) -> bool {
    match lookup(nr).map(|i| i.ret) {
        Some(RetKind::GuestAddr) => false,
        Some(RetKind::MinusOne) => result == -1,
        _ => (-4095..0).contains(&result),
    }
}

/// A result as strace shows it: an error as `-1 ENOENT (No such file or
/// directory)`, what the app saw once glibc set `errno`.
pub fn describe_result(nr: u32, result: i64) -> String {
    // Addresses look negative, and getdents' -1 is not -EPERM.
    let errno_like =
        lookup(nr).is_none_or(|i| !matches!(i.ret, RetKind::GuestAddr | RetKind::MinusOne));
    if !errno_like || !(-255..0).contains(&result) {
        return result.to_string();
    }
    // In range, so it fits an i32 and negates safely.
    let errno = -(result as i32);
    match (abi::errno::name(errno), abi::errno::message(errno)) {
        (Some(name), Some(text)) => format!("-1 {name} ({text})"),
        _ => format!("-1 (errno {errno})"),
    }
}

/// A stat call's output as strace prints it by default, from RawPOSIX's
/// 104-byte layout: `{st_mode=S_IFREG|0644, st_size=64, ...}`.
fn stat_struct(name: &str, data: &[u8]) -> Option<String> {
    if !matches!(name, "stat" | "fstat" | "lstat" | "newfstatat") {
        return None;
    }
    let st = abi::stat::Stat::decode(data)?;
    Some(format!(
        "{{st_mode={}, st_size={}, ...}}",
        abi::stat::mode_string(st.mode),
        st.size
    ))
}

/// A socket address as strace prints it:
/// `{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}`.
fn sockaddr_struct(data: &[u8]) -> Option<String> {
    use abi::sockaddr::SockAddr;
    Some(match SockAddr::decode(data)? {
        SockAddr::Inet { port, addr } => format!(
            "{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr(\"{}\")}}",
            std::net::Ipv4Addr::from(addr)
        ),
        SockAddr::Inet6 {
            port,
            flowinfo,
            addr,
            scope_id,
        } => format!(
            "{{sa_family=AF_INET6, sin6_port=htons({port}), sin6_flowinfo=htonl({flowinfo}), \
             inet_pton(AF_INET6, \"{}\", &sin6_addr), sin6_scope_id={scope_id}}}",
            std::net::Ipv6Addr::from(addr)
        ),
        SockAddr::Unix { path } => {
            format!(
                "{{sa_family=AF_UNIX, sun_path=\"{}\"}}",
                escape_bytes(&path)
            )
        }
    })
}

/// A `getdents` buffer as strace -v prints it, at most `max` entries:
/// `[{d_ino=7, d_off=1, d_reclen=24, d_type=DT_DIR, d_name="."}, ...]`.
fn dirent_list(data: &[u8], max: usize) -> Option<String> {
    let entries = abi::dirent::listing(data)?;
    let shown: Vec<String> = entries
        .iter()
        .take(max)
        .map(|l| {
            format!(
                "{{d_ino={}, d_off={}, d_reclen={}, d_type={}, d_name=\"{}\"}}",
                l.entry.ino,
                l.off,
                l.reclen,
                abi::flags::one_of(i32::from(l.entry.kind), abi::flags::dirent_type::NAMES),
                escape_bytes(&l.entry.name)
            )
        })
        .collect();
    let more = if entries.len() > max { ", ..." } else { "" };
    Some(format!("[{}{more}]", shown.join(", ")))
}

/// An `int[2]` a pipe or socketpair filled: `[6, 7]`.
fn fd_pair(data: &[u8]) -> Option<String> {
    let fd = |at: usize| Some(i32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?));
    Some(format!("[{}, {}]", fd(0)?, fd(4)?))
}

/// A wait status as strace prints it:
/// `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
fn wait_status(data: &[u8]) -> Option<String> {
    let s = i32::from_le_bytes(data.get(..4)?.try_into().ok()?);
    let signal = |n: i32| abi::flags::one_of(n, abi::flags::signal::NAMES);
    let what = match (s & 0x7f, s & 0xff) {
        (0, _) => format!("WIFEXITED(s) && WEXITSTATUS(s) == {}", (s >> 8) & 0xff),
        (_, 0x7f) => format!(
            "WIFSTOPPED(s) && WSTOPSIG(s) == {}",
            signal((s >> 8) & 0xff)
        ),
        (sig, _) => {
            let core = if s & 0x80 != 0 {
                " && WCOREDUMP(s)"
            } else {
                ""
            };
            format!("WIFSIGNALED(s) && WTERMSIG(s) == {}{core}", signal(sig))
        }
    };
    Some(format!("[{{{what}}}]"))
}

/// How strace shows the buffer of argument `pos` of call `name`, when it
/// is a structure it decodes.
fn structure(name: &str, data: &[u8], max: usize) -> Option<String> {
    match name {
        "stat" | "fstat" | "lstat" | "newfstatat" => stat_struct(name, data),
        "connect" | "bind" | "accept" | "accept4" | "getsockname" | "getpeername" => {
            sockaddr_struct(data)
        }
        "getdents" | "getdents64" => dirent_list(data, max),
        "pipe" | "pipe2" | "socketpair" => fd_pair(data),
        "wait4" => wait_status(data),
        _ => None,
    }
}

/// How strace shows argument `pos` of call `name` whose kind is a plain
/// number: flag sets and commands by name. `None` for a number shown as is.
fn decoded(name: &str, pos: usize, value: u64) -> Option<String> {
    use abi::flags::{access, bits, family, fcntl, map, one_of, open_flags, prot, socket_type};
    use abi::flags::{epoll_flags, epoll_op, fd_flags, lock, shut, wait, whence};
    let v = value as i32;
    Some(match (name, pos) {
        ("open", 1) | ("openat", 2) => open_flags(v),
        ("access", 1) | ("faccessat", 2) => bits(v, access::NAMES, "F_OK"),
        ("lseek", 2) => one_of(v, whence::NAMES),
        ("fcntl", 1) => one_of(v, fcntl::NAMES),
        ("mmap", 2) | ("mprotect", 2) => bits(v, prot::NAMES, "PROT_NONE"),
        ("mmap", 3) => bits(v, map::NAMES, "0"),
        ("socket", 0) | ("socketpair", 0) => one_of(v, family::NAMES),
        ("socket", 1) | ("socketpair", 1) => socket_type(v),
        ("shutdown", 1) => one_of(v, shut::NAMES),
        ("flock", 1) => bits(v, lock::NAMES, "0"),
        ("wait4", 2) => bits(v, wait::NAMES, "0"),
        ("dup3", 2) | ("pipe2", 1) => bits(v, fd_flags::NAMES, "0"),
        ("epoll_create1", 0) => bits(v, epoll_flags::NAMES, "0"),
        ("epoll_ctl", 1) => one_of(v, epoll_op::NAMES),
        _ => return None,
    })
}

/// `name(args...) = result`, buffers shown escaped and cut at `max` bytes.
pub fn describe_call(record: &SyscallRecord, max: usize) -> String {
    describe_call_with(record, max, &FdNames::default())
}

/// What a reader knows of the files behind a call's fds, for strace's
/// `-y` form (`write(3</tmp/x>, ...)`): the name of each fd argument, and
/// of the fd the call returns.
#[derive(Default)]
pub struct FdNames<'a> {
    /// The name of an fd argument, if known.
    pub arg: Option<&'a dyn Fn(i32) -> Option<String>>,
    /// The name of the fd the call returns, if it returns one.
    pub result: Option<String>,
}

/// [`describe_call`], with fds named as strace -y names them.
pub fn describe_call_with(record: &SyscallRecord, max: usize, names: &FdNames<'_>) -> String {
    let full = record.full_args();
    let Some(info) = lookup(record.nr) else {
        let args: Vec<String> = full
            .iter()
            .filter(|(v, _)| *v != UNUSED_ARG)
            .map(|(v, _)| format!("{v:#x}"))
            .collect();
        return format!(
            "syscall_{}({}) = {}",
            record.nr,
            args.join(", "),
            record.result
        );
    };
    let mut shown = Vec::new();
    // strace leaves out an open's mode when it creates nothing.
    let flags_at = match info.name {
        "open" => Some(1),
        "openat" => Some(2),
        _ => None,
    };
    let creates = flags_at.is_some_and(|at| full[at].0 as i32 & abi::flags::open::O_CREAT != 0);
    for (pos, kind) in info.args.iter().enumerate() {
        let (value, _) = full[pos];
        if *kind == ArgKind::Mode && flags_at.is_some() && !creates {
            continue;
        }
        if *kind == ArgKind::DirFd && value as i32 == abi::flags::AT_FDCWD {
            shown.push("AT_FDCWD".into());
            continue;
        }
        if let Some(text) = decoded(info.name, pos, value) {
            shown.push(text);
            continue;
        }
        let text = match kind {
            ArgKind::Unused => continue,
            ArgKind::Signal => abi::flags::one_of(value as i32, abi::flags::signal::NAMES),
            ArgKind::Fd | ArgKind::DirFd => {
                let fd = value as i32;
                match names.arg.and_then(|name| name(fd)) {
                    Some(name) => format!("{fd}<{name}>"),
                    None => fd.to_string(),
                }
            }
            ArgKind::Int | ArgKind::Pid => (value as i32).to_string(),
            ArgKind::Size | ArgKind::Offset => value.to_string(),
            ArgKind::Flags => format!("{:#x}", value as u32),
            ArgKind::Mode => format!("0{:o}", value as u32),
            // strace's NULL for a null pointer of any kind.
            _ if value == 0 && kind.is_address() => "NULL".into(),
            ArgKind::In(_) | ArgKind::InOut { .. } | ArgKind::Out { .. } => {
                let outputs = matches!(kind, ArgKind::Out { .. });
                match buffers_at(record, pos, outputs).first() {
                    Some(b) => structure(info.name, &b.data, max)
                        .unwrap_or_else(|| quote(&b.data, max, b.truncated_from.is_some())),
                    None => format!("{value:#x}"),
                }
            }
            ArgKind::IovIn { .. } | ArgKind::IovOut { .. } => {
                let outputs = matches!(kind, ArgKind::IovOut { .. });
                let parts: Vec<String> = buffers_at(record, pos, outputs)
                    .iter()
                    .map(|b| {
                        let len = b.truncated_from.unwrap_or(b.data.len() as u64);
                        let base = quote(&b.data, max, b.truncated_from.is_some());
                        format!("{{iov_base={base}, iov_len={len}}}")
                    })
                    .collect();
                format!("[{}]", parts.join(", "))
            }
            ArgKind::StrArray => {
                let parts: Vec<String> = buffers_at(record, pos, false)
                    .iter()
                    .map(|b| quote(&b.data, max, b.truncated_from.is_some()))
                    .collect();
                format!("[{}]", parts.join(", "))
            }
            ArgKind::GuestAddr | ArgKind::Ptr => format!("{value:#x}"),
        };
        shown.push(text);
    }
    let mut out = format!("{}({})", info.name, shown.join(", "));
    let _ = write!(out, " = {}", describe_result(record.nr, record.result));
    if let (Some(name), true) = (&names.result, record.result >= 0) {
        let _ = write!(out, "<{name}>");
    }
    out
}

/// Nanoseconds as strace -T shows seconds: `0.000012`, to the nearest µs.
pub fn seconds(ns: u64) -> String {
    let us = ns.saturating_add(500) / 1_000;
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::build;

    #[test]
    fn seconds_round_to_the_microsecond() {
        assert_eq!(seconds(12_345), "0.000012");
        assert_eq!(seconds(12_500), "0.000013");
        assert_eq!(seconds(2_000_000_000), "2.000000");
    }

    fn write_record(result: i64) -> SyscallRecord {
        build::call(0, 3, "write", &[1, 0x3000_1000, 6], result)
            .input(1, b"hello\n")
            .syscall()
    }

    #[test]
    fn write_reads_like_strace() {
        assert_eq!(
            describe_call(&write_record(6), 32),
            "write(1, \"hello\\n\", 6) = 6"
        );
    }

    #[test]
    fn extreme_results_do_not_overflow() {
        assert_eq!(describe_result(1, i64::MIN), i64::MIN.to_string());
    }

    #[test]
    fn errors_are_named_and_buffers_cut() {
        assert_eq!(
            describe_call(&write_record(-9), 3),
            "write(1, \"hel\"..., 6) = -1 EBADF (Bad file descriptor)"
        );
    }

    fn call(name: &str, values: &[u64], inputs: &[(u8, &[u8])], result: i64) -> SyscallRecord {
        inputs
            .iter()
            .fold(
                build::call(0, 3, name, values, result),
                |c, &(arg, data)| c.input(arg, data),
            )
            .syscall()
    }

    /// What strace prints for the same calls on Linux.
    #[test]
    fn flags_commands_and_errors_read_as_strace_prints_them() {
        let path = [(0u8, &b"demo-out/notes.txt"[..])];
        assert_eq!(
            describe_call(&call("open", &[0x1000, 0o1101, 0o644], &path, 3), 64),
            "open(\"demo-out/notes.txt\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3"
        );
        let at = [(1u8, &b"missing"[..])];
        assert_eq!(
            describe_call(&call("openat", &[-100i64 as u64, 0x1000, 0o2000000, 0], &at, -2), 64),
            "openat(AT_FDCWD, \"missing\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)"
        );
        let a = [(0u8, &b"/etc"[..])];
        assert_eq!(
            describe_call(&call("access", &[0x1000, 6], &a, -13), 64),
            "access(\"/etc\", R_OK|W_OK) = -1 EACCES (Permission denied)"
        );
        assert_eq!(
            describe_call(&call("lseek", &[3, 10, 2], &[], 74), 64),
            "lseek(3, 10, SEEK_END) = 74"
        );
        assert_eq!(
            describe_call(&call("fcntl", &[3, 1030, 10], &[], 10), 64),
            "fcntl(3, F_DUPFD_CLOEXEC, 10) = 10"
        );
        assert_eq!(
            describe_call(&call("socket", &[1, 0o2000001, 0], &[], 4), 64),
            "socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 4"
        );
        assert_eq!(
            describe_call(&call("mprotect", &[0x4000, 4096, 1], &[], 0), 64),
            "mprotect(0x4000, 4096, PROT_READ) = 0"
        );
    }

    fn with_output(mut rec: SyscallRecord, arg: u8, data: &[u8]) -> SyscallRecord {
        rec.outputs.push(Buffer {
            arg,
            index: 0,
            data: data.to_vec(),
            truncated_from: None,
        });
        rec
    }

    fn iovecs(rec: &mut SyscallRecord, parts: &[&[u8]]) {
        rec.inputs = parts
            .iter()
            .zip(0..)
            .map(|(data, index)| Buffer {
                arg: 1,
                index,
                data: data.to_vec(),
                truncated_from: None,
            })
            .collect();
    }

    fn dirent(ino: u64, off: i64, kind: u8, name: &[u8]) -> Vec<u8> {
        let len = (19 + name.len() + 1).div_ceil(8) * 8;
        let mut r = ino.to_le_bytes().to_vec();
        r.extend_from_slice(&off.to_le_bytes());
        r.extend_from_slice(&(len as u16).to_le_bytes());
        r.push(kind);
        r.extend_from_slice(name);
        r.resize(len, 0);
        r
    }

    /// Each expected line is what strace 6 printed on Linux x86_64 for the
    /// same call (`strace -v`, padding before `=` removed), where Lind's
    /// layouts agree with Linux's. Two differ on purpose: wait4 ends
    /// without strace's `NULL` rusage, which Lind's row does not carry, and
    /// getdents (78) shows the `linux_dirent64` records Lind fills.
    #[test]
    fn struct_and_flag_arguments_read_as_strace_prints_them() {
        let mut writev = call("writev", &[1, 0x1000, 2], &[], 12);
        iovecs(&mut writev, &[b"hello", b" world\n"]);
        let mut inet = vec![2, 0, 0, 80, 127, 0, 0, 1];
        inet.resize(16, 0);
        let mut unix = vec![1, 0];
        unix.extend_from_slice(b"/tmp/st/sock");
        unix.resize(110, 0);
        let mut listing = dirent(10117447, 6357504699377170974, 4, b".");
        listing.extend(dirent(10117443, 8694041231727147563, 4, b".."));
        listing.extend(dirent(10117448, i64::MAX, 8, b"a.txt"));
        let pair = [6i32.to_le_bytes(), 7i32.to_le_bytes()].concat();
        let cases = [
            (
                writev,
                r#"writev(1, [{iov_base="hello", iov_len=5}, {iov_base=" world\n", iov_len=7}], 2) = 12"#,
            ),
            (
                call("connect", &[3, 0x1000, 16], &[(1, &inet)], -111),
                r#"connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)"#,
            ),
            (
                call("shutdown", &[3, 1], &[], -107),
                "shutdown(3, SHUT_WR) = -1 ENOTCONN (Transport endpoint is not connected)",
            ),
            (
                call("bind", &[4, 0x1000, 110], &[(1, &unix)], 0),
                r#"bind(4, {sa_family=AF_UNIX, sun_path="/tmp/st/sock"}, 110) = 0"#,
            ),
            (
                call("kill", &[999999, 15], &[], -3),
                "kill(999999, SIGTERM) = -1 ESRCH (No such process)",
            ),
            (
                call("kill", &[999999, 0], &[], -3),
                "kill(999999, 0) = -1 ESRCH (No such process)",
            ),
            (
                call("wait4", &[u64::MAX, 0, 1], &[], -10),
                "wait4(-1, NULL, WNOHANG) = -1 ECHILD (No child processes)",
            ),
            (
                call("flock", &[5, 6], &[], 0),
                "flock(5, LOCK_EX|LOCK_NB) = 0",
            ),
            (
                call("dup3", &[5, 10, 0o2000000], &[], 10),
                "dup3(5, 10, O_CLOEXEC) = 10",
            ),
            (
                with_output(call("pipe2", &[0x1000, 0o2004000], &[], 0), 0, &pair),
                "pipe2([6, 7], O_NONBLOCK|O_CLOEXEC) = 0",
            ),
            (
                call("epoll_create1", &[0o2000000], &[], 8),
                "epoll_create1(EPOLL_CLOEXEC) = 8",
            ),
            (
                with_output(call("getdents64", &[9, 0x1000, 4096], &[], 80), 1, &listing),
                r#"getdents64(9, [{d_ino=10117447, d_off=6357504699377170974, d_reclen=24, d_type=DT_DIR, d_name="."}, {d_ino=10117443, d_off=8694041231727147563, d_reclen=24, d_type=DT_DIR, d_name=".."}, {d_ino=10117448, d_off=9223372036854775807, d_reclen=32, d_type=DT_REG, d_name="a.txt"}], 4096) = 80"#,
            ),
        ];
        for (rec, want) in cases {
            assert_eq!(describe_call(&rec, 32), want);
        }
    }

    /// Where strace would print a value this table does not know, the
    /// number is shown; a buffer that is not the structure stays bytes.
    #[test]
    fn unknown_values_and_odd_structures_print_raw() {
        assert_eq!(
            describe_call(&call("kill", &[5, 64], &[], 0), 32),
            "kill(5, 64) = 0"
        );
        assert_eq!(
            describe_call(&call("flock", &[5, 0x42], &[], 0), 32),
            "flock(5, LOCK_EX|0x40) = 0"
        );
        assert_eq!(
            describe_call(&call("epoll_ctl", &[8, 1, 6, 0x1000], &[], 0), 32),
            "epoll_ctl(8, EPOLL_CTL_ADD, 6, 0x1000) = 0"
        );
        let odd = call("connect", &[3, 0x1000, 4], &[(1, &[16, 0, 1, 2])], 0);
        assert_eq!(
            describe_call(&odd, 32),
            r#"connect(3, "\x10\0\x01\x02", 4) = 0"#
        );
        let cut = with_output(call("getdents64", &[9, 0x1000, 64], &[], 30), 1, &[0; 30]);
        assert!(
            describe_call(&cut, 32).starts_with("getdents64(9, \"\\0"),
            "{}",
            describe_call(&cut, 32)
        );
    }

    #[test]
    fn a_stat_buffer_reads_as_strace_prints_it() {
        let st = abi::stat::Stat {
            mode: 0o100644,
            size: 64,
            ..Default::default()
        };
        let mut rec = call("stat", &[0x1000, 0x2000], &[(0, b"demo-out/data.bin")], 0);
        rec.outputs.push(Buffer {
            arg: 1,
            index: 0,
            data: st.encode().to_vec(),
            truncated_from: None,
        });
        assert_eq!(
            describe_call(&rec, 64),
            "stat(\"demo-out/data.bin\", {st_mode=S_IFREG|0644, st_size=64, ...}) = 0"
        );
        assert_eq!(abi::stat::mode_string(0o40755), "S_IFDIR|0755");
        assert_eq!(abi::stat::mode_string(0o644), "0644");
    }

    #[test]
    fn an_unknown_errno_is_shown_by_number() {
        assert_eq!(describe_result(1, -200), "-1 (errno 200)");
    }
}
