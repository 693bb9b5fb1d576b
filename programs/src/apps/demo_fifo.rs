//! `demo-fifo DIR`: Lind's mkfifo_test in small. A forked child opens
//! DIR/fifo for writing and writes a line; the parent opens it for reading
//! and reads it. Each open blocks until the other end is open, so a
//! secondary that reads the FIFO itself on the child's open would hold
//! the child, and the parent, for ever.

use super::{ensure, Failure, OrFail, Outcome};
use boundary::consts::open_flags::{O_RDONLY, O_WRONLY};
use boundary::{wait, Guest};

const LINE: &[u8] = b"through a fifo\n";

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    let dir = argv
        .get(1)
        .ok_or_else(|| Failure::Usage("usage: demo-fifo DIR".into()))?;
    super::mkdir_ok(guest, dir)?;
    let path = format!("{dir}/fifo");
    guest.mkfifo(&path, 0o644).or_fail("mkfifo")?;
    let writer_path = path.clone();
    let child = guest
        .fork(move |rt| {
            let guest = Guest::new(rt);
            let written = guest.open(&writer_path, O_WRONLY, 0).and_then(|fd| {
                guest.write_all(fd, LINE)?;
                guest.close(fd)
            });
            i32::from(written.is_err())
        })
        .or_fail("fork")?;
    let fd = guest.open(&path, O_RDONLY, 0).or_fail("open for reading")?;
    let got = guest.read_to_end(fd).or_fail("read");
    guest.close(fd).or_fail("close")?;
    let (_, status) = guest.waitpid(child.0 as i64, 0).or_fail("waitpid")?;
    ensure(
        wait::wifexited(status) && wait::wexitstatus(status) == 0,
        || format!("the writer ended with wait status {status:#x}"),
    )?;
    let got = got?;
    ensure(got == LINE, || {
        format!("read {:?}", String::from_utf8_lossy(&got))
    })?;
    guest.unlink(&path).or_fail("unlink")?;
    guest.print("demo-fifo: read the line its child wrote\n");
    Ok(())
}
