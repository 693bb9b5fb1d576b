//! Comparing two runs of one call: the tee's primary and secondary, a
//! recording and its replay.

use crate::capture::succeeded;
use formats::{ArgKind, Buffer, Filled, RetKind, SyscallInfo};

/// Whether two results agree, by the catalog's result kind: fd numbers,
/// addresses and ids legitimately differ between stacks; counts and
/// statuses do not.
pub fn same_result(info: &SyscallInfo, expected: i32, got: i32) -> bool {
    match info.ret {
        RetKind::Fd | RetKind::GuestAddr | RetKind::ChildId | RetKind::Value => {
            succeeded(info, expected) == succeeded(info, got)
        }
        _ => expected == got,
    }
}

/// Whether a call's outputs are plain data two stacks must agree on (read,
/// pread, readv); stat and directory records carry inode numbers and times
/// that differ between any two filesystems.
pub fn compares_data(info: &SyscallInfo) -> bool {
    info.ret == RetKind::Count
        && info.args.iter().any(|k| {
            matches!(
                k,
                ArgKind::Out {
                    filled: Filled::Result,
                    ..
                } | ArgKind::IovOut { .. }
            )
        })
}

/// The first byte offset where two output buffer lists differ, as
/// `(buffer position in the list, byte offset)`.
pub fn first_difference(expected: &[Buffer], got: &[Buffer]) -> Option<(usize, usize)> {
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        if let Some(at) = e.data.iter().zip(&g.data).position(|(a, b)| a != b) {
            return Some((i, at));
        }
        if e.data.len() != g.data.len() {
            return Some((i, e.data.len().min(g.data.len())));
        }
    }
    (expected.len() != got.len()).then_some((expected.len().min(got.len()), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(data: &[u8]) -> Buffer {
        Buffer {
            arg: 1,
            index: 0,
            data: data.to_vec(),
            truncated_from: None,
        }
    }

    #[test]
    fn first_difference_finds_the_byte() {
        assert_eq!(
            first_difference(&[buffer(b"abcd")], &[buffer(b"abXd")]),
            Some((0, 2))
        );
        assert_eq!(
            first_difference(&[buffer(b"ab")], &[buffer(b"abc")]),
            Some((0, 2))
        );
        assert_eq!(first_difference(&[buffer(b"ab")], &[buffer(b"ab")]), None);
        assert_eq!(first_difference(&[buffer(b"ab")], &[]), Some((0, 0)));
    }
}
