//! `demo-fdcheck CLOEXEC_FD KEPT_FD`: runs after exec in demo-threads' child
//! and checks that exec closed the close-on-exec fd and kept the other.

use super::{ensure, number, OrFail, Outcome};
use boundary::consts::fcntl_cmd::F_GETFD;
use boundary::{Errno, Guest};

/// The line written through the kept fd.
pub(crate) const FDCHECK_LINE: &[u8] = b"fdcheck: kept fd works\n";

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    let cloexec_fd: i32 = number(argv, 1, "CLOEXEC_FD")?;
    let kept_fd: i32 = number(argv, 2, "KEPT_FD")?;

    let closed = guest.fcntl(cloexec_fd, F_GETFD, 0);
    ensure(closed == Err(Errno::EBADF), || {
        format!("close-on-exec fd survived exec: fcntl(F_GETFD) = {closed:?}")
    })?;
    let kept = guest.fstat(kept_fd).or_fail("fstat kept fd")?;
    ensure(kept.is_file(), || "kept fd is not a regular file".into())?;
    guest.fcntl(kept_fd, F_GETFD, 0).or_fail("fcntl kept fd")?;
    guest
        .write_all(kept_fd, FDCHECK_LINE)
        .or_fail("write kept fd")?;
    guest.print("demo-fdcheck: ok\n");
    Ok(())
}
