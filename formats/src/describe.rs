//! Calls for people: `write(3, "hello\n", 6) = 6`, decoded by the catalog.
//! Shared by `tee-log dump` and tee-replay's divergence reports.

use crate::escape::escape_bytes;
use crate::record::{Buffer, SyscallRecord, UNUSED_ARG};
use abi::catalog::{lookup, ArgKind, RetKind};
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

/// How strace shows argument `pos` of call `name` whose kind is a plain
/// number: flag sets and commands by name. `None` for a number shown as is.
fn decoded(name: &str, pos: usize, value: u64) -> Option<String> {
    use abi::flags::whence;
    use abi::flags::{access, bits, family, fcntl, map, one_of, open_flags, prot, socket_type};
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
        _ => return None,
    })
}

/// `name(args...) = result`, buffers shown escaped and cut at `max` bytes.
pub fn describe_call(record: &SyscallRecord, max: usize) -> String {
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
            ArgKind::Fd | ArgKind::DirFd | ArgKind::Int | ArgKind::Pid | ArgKind::Signal => {
                (value as i32).to_string()
            }
            ArgKind::Size | ArgKind::Offset => value.to_string(),
            ArgKind::Flags => format!("{:#x}", value as u32),
            ArgKind::Mode => format!("0{:o}", value as u32),
            ArgKind::In(_) | ArgKind::InOut { .. } => {
                match buffers_at(record, pos, false).first() {
                    Some(b) => quote(&b.data, max, b.truncated_from.is_some()),
                    None => format!("{value:#x}"),
                }
            }
            ArgKind::Out { .. } => match buffers_at(record, pos, true).first() {
                Some(b) => match stat_struct(info.name, &b.data) {
                    Some(shown) => shown,
                    None => quote(&b.data, max, b.truncated_from.is_some()),
                },
                None => format!("{value:#x}"),
            },
            ArgKind::IovIn { .. } | ArgKind::IovOut { .. } | ArgKind::StrArray => {
                let outputs = matches!(kind, ArgKind::IovOut { .. });
                let parts: Vec<String> = buffers_at(record, pos, outputs)
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_record(result: i64) -> SyscallRecord {
        SyscallRecord {
            seq: 0,
            cage: 3,
            nr: 1,
            args: SyscallRecord::args_from_full(
                3,
                &[
                    (1, 3),
                    (0x3000_1000, 3),
                    (6, 3),
                    (UNUSED_ARG, 3),
                    (UNUSED_ARG, 3),
                    (UNUSED_ARG, 3),
                ],
            ),
            inputs: vec![Buffer {
                arg: 1,
                index: 0,
                data: b"hello\n".to_vec(),
                truncated_from: None,
            }],
            outputs: vec![],
            result,
            secondary: None,
            time_us: 0,
        }
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
        let info = abi::catalog::by_name(name).unwrap();
        let mut full = [(UNUSED_ARG, 3); 6];
        for (slot, v) in full.iter_mut().zip(values) {
            slot.0 = *v;
        }
        SyscallRecord {
            seq: 0,
            cage: 3,
            nr: info.nr,
            args: SyscallRecord::args_from_full(3, &full),
            inputs: inputs
                .iter()
                .map(|&(arg, data)| Buffer {
                    arg,
                    index: 0,
                    data: data.to_vec(),
                    truncated_from: None,
                })
                .collect(),
            outputs: vec![],
            result,
            secondary: None,
            time_us: 0,
        }
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
