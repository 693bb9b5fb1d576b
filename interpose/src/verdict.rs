//! Comparing two runs of one call: the tee's primary and secondary, a
//! recording and its replay. [`verdict`] is the one rule for what a stack
//! got wrong; both engines count or report what it returns.

use crate::capture::succeeded;
use abi::catalog::{ArgKind, Filled, RetKind, SyscallInfo};
use boundary::consts::GRATE_ERR;
use formats::Buffer;
use serde::{Deserialize, Serialize};

/// What one run of a call gave: its result and the output bytes with it.
/// The primary's answer, a recorded one, and a replayed outcome alike.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub result: i32,
    pub outputs: Vec<Buffer>,
}

impl Answer {
    pub fn side(&self) -> Side<'_> {
        Side {
            result: self.result,
            outputs: &self.outputs,
        }
    }
}

/// An [`Answer`] borrowed from wherever it lives (a log record, say).
#[derive(Clone, Copy, Debug)]
pub struct Side<'a> {
    pub result: i32,
    pub outputs: &'a [Buffer],
}

/// What a stack got wrong, the first thing [`verdict`] finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrong {
    /// Its handler trapped or panicked: 3i returned `GRATE_ERR`.
    Panicked,
    /// It failed where the expected run succeeded.
    Failed,
    /// Its result differs otherwise (an odd count, an error for an error).
    Result,
    /// Same result, different output bytes: buffer `buffer` from `offset`.
    Output { buffer: usize, offset: usize },
}

/// What `got` did wrong against `expected`, by the catalog's rules for
/// `info`: results by [`same_result`], outputs only for plain data
/// ([`compares_data`]) of a call that succeeded.
pub fn verdict(info: &SyscallInfo, expected: Side<'_>, got: Side<'_>) -> Option<Wrong> {
    if got.result == GRATE_ERR && expected.result != GRATE_ERR {
        Some(Wrong::Panicked)
    } else if succeeded(info, expected.result) && !succeeded(info, got.result) {
        Some(Wrong::Failed)
    } else if !same_result(info, expected.result, got.result) {
        Some(Wrong::Result)
    } else if compares_data(info) && succeeded(info, expected.result) {
        first_difference(expected.outputs, got.outputs)
            .map(|(buffer, offset)| Wrong::Output { buffer, offset })
    } else {
        None
    }
}

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
        // A recording cut by --max-buffer vouches for its bytes only.
        let theirs = match e.truncated_from {
            Some(_) => &g.data[..g.data.len().min(e.data.len())],
            None => &g.data[..],
        };
        // Equal buffers, the common case, are compared whole (memcmp);
        // only a difference is looked for byte by byte.
        if e.data[..] == *theirs {
            continue;
        }
        let at = e.data.iter().zip(theirs).position(|(a, b)| a != b);
        return Some((i, at.unwrap_or(e.data.len().min(theirs.len()))));
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

    fn side(result: i32, outputs: &[Buffer]) -> Side<'_> {
        Side { result, outputs }
    }

    #[test]
    fn a_grate_err_is_a_panic_not_a_result() {
        let read = abi::catalog::by_name("read").unwrap();
        assert_eq!(
            verdict(read, side(3, &[]), side(GRATE_ERR, &[])),
            Some(Wrong::Panicked)
        );
        assert_eq!(
            verdict(read, side(GRATE_ERR, &[]), side(GRATE_ERR, &[])),
            None
        );
    }

    #[test]
    fn failing_where_the_expected_run_succeeded_is_told_from_an_odd_count() {
        let write = abi::catalog::by_name("write").unwrap();
        assert_eq!(
            verdict(write, side(6, &[]), side(-5, &[])),
            Some(Wrong::Failed)
        );
        assert_eq!(
            verdict(write, side(6, &[]), side(4, &[])),
            Some(Wrong::Result)
        );
        assert_eq!(
            verdict(write, side(-9, &[]), side(-5, &[])),
            Some(Wrong::Result)
        );
        assert_eq!(verdict(write, side(6, &[]), side(6, &[])), None);
    }

    #[test]
    fn fds_and_ids_may_differ_but_not_succeed_against_a_failure() {
        let open = abi::catalog::by_name("open").unwrap();
        assert_eq!(verdict(open, side(3, &[]), side(7, &[])), None);
        assert_eq!(
            verdict(open, side(-2, &[]), side(3, &[])),
            Some(Wrong::Result)
        );
    }

    #[test]
    fn read_bytes_are_compared_and_stat_bytes_are_not() {
        let read = abi::catalog::by_name("read").unwrap();
        let stat = abi::catalog::by_name("fstat").unwrap();
        let (a, b) = ([buffer(b"abcd")], [buffer(b"abXd")]);
        assert_eq!(
            verdict(read, side(4, &a), side(4, &b)),
            Some(Wrong::Output {
                buffer: 0,
                offset: 2
            })
        );
        assert_eq!(verdict(stat, side(0, &a), side(0, &b)), None);
        // A failed read's outputs mean nothing.
        assert_eq!(verdict(read, side(-11, &a), side(-11, &b)), None);
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

    #[test]
    fn a_cut_recording_is_compared_only_as_far_as_it_holds() {
        let mut cut = buffer(b"abcd");
        cut.truncated_from = Some(4096);
        let mut whole = b"abcd".to_vec();
        whole.resize(4096, 0);
        assert_eq!(first_difference(&[cut.clone()], &[buffer(&whole)]), None);
        whole[2] = b'X';
        assert_eq!(
            first_difference(&[cut.clone()], &[buffer(&whole)]),
            Some((0, 2))
        );
        assert_eq!(first_difference(&[cut], &[buffer(b"ab")]), Some((0, 2)));
        // Uncut, the extra bytes are a difference.
        assert_eq!(
            first_difference(&[buffer(b"abcd")], &[buffer(b"abcd\0")]),
            Some((0, 4))
        );
    }
}
