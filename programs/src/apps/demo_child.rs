//! `demo-child DIR`: the file work demo-files' forked child does after exec.

use super::{expect_content, Failure, OrFail, Outcome};
use boundary::consts::open_flags::{O_APPEND, O_CREAT, O_TRUNC, O_WRONLY};
use boundary::Guest;

/// What DIR/child-done.txt holds when the child is done.
pub(crate) const CHILD_DONE: &[u8] = b"child start\nchild appended\n";

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    let dir = argv
        .get(1)
        .ok_or_else(|| Failure::Usage("usage: demo-child DIR".into()))?;
    let start = format!("{dir}/child.txt");
    let done = format!("{dir}/child-done.txt");

    let fd = guest
        .open(&start, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        .or_fail("create child.txt")?;
    guest
        .write_all(fd, b"child start\n")
        .or_fail("write child.txt")?;
    guest.close(fd).or_fail("close child.txt")?;

    let fd = guest
        .open(&start, O_WRONLY | O_APPEND, 0)
        .or_fail("reopen child.txt")?;
    guest
        .write_all(fd, b"child appended\n")
        .or_fail("append child.txt")?;
    guest.close(fd).or_fail("close child.txt")?;

    guest.rename(&start, &done).or_fail("rename child.txt")?;
    expect_content(guest, &done, CHILD_DONE)?;
    guest.print("demo-child: done\n");
    Ok(())
}
