//! `demo-orphan DIR`: a parent that exits while its child still works, so
//! whatever sits between the app and the kernel must outlive the parent.

use super::{mkdir_ok, Failure, OrFail, Outcome};
use boundary::consts::open_flags::{O_CREAT, O_TRUNC, O_WRONLY};
use boundary::Guest;
use std::time::Duration;

/// What the child writes once its parent is gone.
pub(crate) const LATE: &[u8] = b"written after the parent exited\n";

/// How long the child waits before writing, so its parent has exited.
const CHILD_DELAY: Duration = Duration::from_millis(300);

fn write_file(guest: &Guest<'_>, path: &str, data: &[u8]) -> Outcome {
    let fd = guest
        .open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        .or_fail(path)?;
    guest.write_all(fd, data).or_fail(path)?;
    guest.close(fd).or_fail(path)
}

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    let dir = argv
        .get(1)
        .ok_or_else(|| Failure::Usage("usage: demo-orphan DIR".into()))?
        .clone();
    mkdir_ok(guest, &dir)?;
    let late = format!("{dir}/late.txt");
    guest
        .fork(move |rt| {
            std::thread::sleep(CHILD_DELAY);
            match write_file(&Guest::new(rt), &late, LATE) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        })
        .or_fail("fork")?;
    write_file(guest, &format!("{dir}/early.txt"), b"parent\n")?;
    guest.print("demo-orphan: parent done\n");
    Ok(())
}
