//! The model on hand-built logs, one rule per test.

use super::*;
use formats::build::{call, exec, exit, fork};

/// Names each new description by its path (or "pipe"/"socket"), with an
/// `*at` call's relative path under its dirfd's name.
fn name(fds: &LogFds<String>, call: &SyscallRecord, new: New) -> Option<String> {
    if new != New::Result {
        return Some(format!("{new:?}").replace("End", "").to_lowercase());
    }
    let path = String::from_utf8_lossy(path_of(call)?).into_owned();
    let dir = dirfd_of(call).and_then(|fd| fds.open(call.cage, fd));
    Some(dir.map_or(path.clone(), |dir| format!("{dir}/{path}")))
}

/// The model after `records`.
fn after(records: &[Record]) -> LogFds<String> {
    let mut fds = LogFds::new();
    for (i, r) in records.iter().enumerate() {
        fds.note(i, r, name);
    }
    fds
}

fn named(fds: &LogFds<String>, cage: u64, fd: i32) -> Option<&str> {
    fds.open(cage, fd).map(String::as_str)
}

const O_CREAT_WRONLY: u64 = 0o101;

#[test]
fn an_open_names_its_fd_and_a_close_forgets_it() {
    let fds = after(&[
        call(0, 1, "open", &[0, O_CREAT_WRONLY], 3)
            .path(b"a.txt")
            .record(),
        call(1, 1, "open", &[0, 0], 4).path(b"b.txt").record(),
        call(2, 1, "close", &[4], 0).record(),
    ]);
    assert_eq!(named(&fds, 1, 3), Some("a.txt"));
    assert_eq!(fds.get(1, 3).unwrap().bound_by, 0);
    assert_eq!(named(&fds, 1, 4), None);
    assert_eq!(named(&fds, 2, 3), None, "another cage's fd 3 is not shown");
}

#[test]
fn a_failed_call_changes_nothing() {
    let fds = after(&[
        call(0, 1, "open", &[0, 0], 3).path(b"a").record(),
        call(1, 1, "open", &[0, 0], -2).path(b"missing").record(),
        call(2, 1, "dup2", &[9, 3], -9).record(),
    ]);
    assert_eq!(named(&fds, 1, 3), Some("a"));
    assert_eq!(named(&fds, 1, -2), None, "an error is no fd");
}

#[test]
fn dups_share_the_description_and_are_bound_by_the_dup() {
    let fds = after(&[
        call(0, 1, "open", &[0, 0], 3).path(b"a").record(),
        call(1, 1, "dup", &[3], 4).record(),
        call(2, 1, "dup2", &[3, 7], 7).record(),
        call(3, 1, "fcntl", &[3, 0, 10], 10).record(),
        call(4, 1, "close", &[3], 0).record(),
    ]);
    for fd in [4, 7, 10] {
        assert_eq!(named(&fds, 1, fd), Some("a"), "fd {fd}");
        assert!(Arc::ptr_eq(
            &fds.get(1, fd).unwrap().open,
            &fds.get(1, 4).unwrap().open
        ));
    }
    assert_eq!(fds.get(1, 7).unwrap().bound_by, 2);
    assert_eq!(named(&fds, 1, 3), None);
}

#[test]
fn dup2_onto_itself_keeps_the_fd_and_onto_an_unknown_fd_forgets_the_target() {
    let fds = after(&[
        call(0, 1, "open", &[0, 0], 3).path(b"a").record(),
        call(1, 1, "open", &[0, 0], 5).path(b"b").record(),
        call(2, 1, "dup2", &[3, 3], 3).record(),
        // fd 8 came from nowhere the log shows: 5 no longer names b.
        call(3, 1, "dup2", &[8, 5], 5).record(),
    ]);
    assert_eq!(fds.get(1, 3).unwrap().bound_by, 0);
    assert_eq!(named(&fds, 1, 5), None);
}

#[test]
fn an_at_call_is_described_with_its_dirfd_as_it_was() {
    let fds = after(&[
        call(0, 1, "open", &[0, 0o200000], 3).path(b"/out").record(),
        call(1, 1, "openat", &[3, 0, O_CREAT_WRONLY], 4)
            .path(b"x.txt")
            .record(),
        call(2, 1, "openat", &[3, 0, 0], 5).path(b"/abs").record(),
    ]);
    assert_eq!(named(&fds, 1, 4), Some("/out/x.txt"));
    assert_eq!(named(&fds, 1, 5), Some("/abs"));
}

#[test]
fn pipes_and_socket_pairs_bind_both_ends() {
    let pair = [6i32.to_le_bytes(), 7i32.to_le_bytes()].concat();
    let fds = after(&[
        call(0, 1, "pipe", &[0], 0).output(0, &pair).record(),
        call(1, 2, "socketpair", &[1, 1, 0, 0], 0)
            .output(3, &pair)
            .record(),
    ]);
    assert_eq!(named(&fds, 1, 6), Some("pipe"));
    assert_eq!(named(&fds, 1, 7), Some("pipe"));
    assert_eq!(named(&fds, 2, 7), Some("socket"));
}

#[test]
fn a_forked_child_starts_with_its_parents_fds_and_goes_its_own_way() {
    let forked = after(&[
        call(0, 1, "open", &[0, 0], 3).path(b"a").record(),
        fork(1, 1, 2),
    ]);
    assert_eq!(named(&forked, 2, 3), Some("a"));
    let fds = after(&[
        call(0, 1, "open", &[0, 0], 3).path(b"a").record(),
        fork(1, 1, 2),
        call(2, 2, "close", &[3], 0).record(),
        call(3, 1, "open", &[0, 0], 4).path(b"late").record(),
    ]);
    assert_eq!(named(&fds, 1, 3), Some("a"));
    assert_eq!(named(&fds, 2, 3), None);
    assert_eq!(named(&fds, 2, 4), None, "opened after the fork");
}

#[test]
fn exec_closes_every_close_on_exec_fd_and_keeps_the_rest() {
    const O_CLOEXEC: u64 = 0o2000000;
    let pair = [8i32.to_le_bytes(), 9i32.to_le_bytes()].concat();
    let fds = after(&[
        call(0, 1, "open", &[0, O_CLOEXEC], 3)
            .path(b"by-open")
            .record(),
        call(1, 1, "open", &[0, 0], 4).path(b"kept").record(),
        call(2, 1, "dup3", &[4, 5, O_CLOEXEC], 5).record(),
        call(3, 1, "fcntl", &[4, 1030, 0], 6).record(),
        call(4, 1, "pipe2", &[0, O_CLOEXEC], 0)
            .output(0, &pair)
            .record(),
        call(5, 1, "open", &[0, 0], 10).path(b"set").record(),
        call(6, 1, "fcntl", &[10, 2, 1], 0).record(),
        call(7, 1, "open", &[0, O_CLOEXEC], 11)
            .path(b"unset")
            .record(),
        call(8, 1, "fcntl", &[11, 2, 0], 0).record(),
        call(9, 1, "dup", &[3], 12).record(),
        exec(10, 1, b"/bin/next"),
    ]);
    for fd in [3, 5, 6, 8, 9, 10] {
        assert_eq!(named(&fds, 1, fd), None, "fd {fd} is close-on-exec");
    }
    assert_eq!(named(&fds, 1, 4), Some("kept"));
    assert_eq!(named(&fds, 1, 11), Some("unset"));
    assert_eq!(
        named(&fds, 1, 12),
        Some("by-open"),
        "a dup is not close-on-exec"
    );
}

#[test]
fn a_process_exit_forgets_its_fds() {
    let fds = after(&[
        call(0, 2, "open", &[0, 0], 3).path(b"a").record(),
        exit(1, 2, 0),
    ]);
    assert_eq!(named(&fds, 2, 3), None);
}

#[test]
fn a_description_given_none_is_left_unknown() {
    let mut fds: LogFds<String> = LogFds::new();
    fds.note(0, &call(0, 1, "open", &[0, 0], 3).path(b"a").record(), name);
    fds.note(1, &call(1, 1, "dup2", &[3, 4], 4).record(), name);
    // A reader that follows only some files.
    fds.note(
        2,
        &call(2, 1, "open", &[0, 0], 4).path(b"b").record(),
        |_, _, _| None,
    );
    assert_eq!(named(&fds, 1, 4), None);
    assert_eq!(named(&fds, 1, 3), Some("a"));
}

#[test]
fn an_fd_from_before_the_log_is_adopted_once_and_then_followed() {
    let mut fds: LogFds<String> = LogFds::new();
    fds.adopt(1, 1, 0, || "stdout".into());
    fds.adopt(1, 1, 5, || "again".into());
    assert_eq!(fds.get(1, 1).unwrap().bound_by, 0, "adopted once");
    fds.note(1, &call(1, 1, "dup", &[1], 7).record(), name);
    fds.note(2, &fork(2, 1, 2), name);
    assert_eq!(named(&fds, 2, 7), Some("stdout"));
}

mod hostile {
    //! Any sequence of records, as a crafted log may hold: the model never
    //! panics, a binding never names a record after the one being noted,
    //! and what a close named is gone.

    use super::*;
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "open",
        "openat",
        "dup",
        "dup2",
        "dup3",
        "fcntl",
        "close",
        "pipe",
        "pipe2",
        "socketpair",
        "read",
        "write",
    ];

    fn record() -> impl Strategy<Value = Record> {
        let fd = prop_oneof![0u64..8, any::<u64>()];
        prop_oneof![
            6 => (0..NAMES.len(), 1u64..4, prop::collection::vec(fd, 3), -3i64..9, prop::collection::vec(any::<u8>(), 0..12))
                .prop_map(|(n, cage, args, result, bytes)| {
                    let made = call(0, cage, NAMES[n], &args, result);
                    let made = if path_takes(NAMES[n]) { made.path(b"p") } else { made };
                    made.output(0, &bytes).output(3, &bytes).record()
                }),
            1 => (1u64..4, 1u64..4).prop_map(|(p, c)| fork(0, p, c)),
            1 => (1u64..4).prop_map(|c| exec(0, c, b"/x")),
            1 => (1u64..4).prop_map(|c| exit(0, c, 0)),
        ]
    }

    fn path_takes(name: &str) -> bool {
        matches!(name, "open" | "openat")
    }

    proptest! {
        #[test]
        fn any_log_is_followed_without_panic_and_closes_forget(records in prop::collection::vec(record(), 0..60)) {
            let mut fds: LogFds<String> = LogFds::new();
            for (i, r) in records.iter().enumerate() {
                fds.note(i, r, name);
                if let Record::Syscall(c) = r {
                    if lookup(c.nr).is_some_and(|info| info.name == "close") {
                        prop_assert!(fds.get(c.cage, c.full_args()[0].0 as i32).is_none());
                    }
                }
                for cage in 1..4 {
                    for fd in -3..12 {
                        if let Some(b) = fds.get(cage, fd) {
                            prop_assert!(b.bound_by <= i);
                        }
                    }
                }
            }
        }
    }
}
