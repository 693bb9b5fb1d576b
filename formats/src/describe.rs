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

/// A result as strace shows it: `-2 (ENOENT)` for errors.
pub fn describe_result(nr: u32, result: i64) -> String {
    // Addresses look negative, and getdents' -1 is not -EPERM.
    let errno_like =
        lookup(nr).is_none_or(|i| !matches!(i.ret, RetKind::GuestAddr | RetKind::MinusOne));
    // wrapping_neg: `result` comes from a log and may be i64::MIN.
    match (
        errno_like && (-255..0).contains(&result),
        errno_name(result.wrapping_neg()),
    ) {
        (true, Some(name)) => format!("{result} ({name})"),
        _ => result.to_string(),
    }
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
    for (pos, kind) in info.args.iter().enumerate() {
        let (value, _) = full[pos];
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
                Some(b) => quote(&b.data, max, b.truncated_from.is_some()),
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
            "write(1, \"hel\"..., 6) = -9 (EBADF)"
        );
    }
}
