//! `demo-forks N [together]`: N children forked one after another, each
//! making one call (a close of a bad fd) and exiting 0: the workload that
//! measures what a fork costs to record and to replay. With `together`,
//! every child stays alive until the last is forked (each waits for the
//! end of a pipe the parent closes), so N cages live at once.

use super::{ensure, number, Failure, OrFail, Outcome};
use boundary::Guest;

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    let n: u32 = number(argv, 1, "N")?;
    let together = match argv.get(2).map(String::as_str) {
        None => false,
        Some("together") => true,
        Some(_) => return Err(Failure::Usage("usage: demo-forks N [together]".into())),
    };
    let [hold_read, hold_write] = guest.pipe().or_fail("pipe")?;
    let mut children = Vec::new();
    for _ in 0..n {
        let child = guest
            .fork(move |rt| {
                let guest = Guest::new(rt);
                let _ = guest.close(hold_write);
                if together {
                    // Returns at end of file: when the parent closes its end.
                    let _ = guest.read(hold_read, &mut [0u8; 1]);
                }
                // One call of its own, so each child leaves a record.
                let _ = guest.close(-1);
                0
            })
            .or_fail("fork")?;
        if together {
            children.push(child);
        } else {
            wait_ok(guest, child.0 as i64)?;
        }
    }
    guest.close(hold_write).or_fail("close the pipe")?;
    for child in children {
        wait_ok(guest, child.0 as i64)?;
    }
    guest.print(&format!("forked {n} children\n"));
    Ok(())
}

fn wait_ok(guest: &Guest<'_>, child: i64) -> Outcome {
    let (_, status) = guest.waitpid(child, 0).or_fail("waitpid")?;
    ensure(status == 0, || format!("child {child}: status {status:#x}"))
}
