//! `demo-writes FILE COUNT SIZE`: the 4 KiB-write benchmark's workload.

use super::{number, Failure, OrFail, Outcome};
use boundary::consts::open_flags::{O_CREAT, O_TRUNC, O_WRONLY};
use boundary::Guest;

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    let file = argv
        .get(1)
        .ok_or_else(|| Failure::Usage("usage: demo-writes FILE COUNT SIZE".into()))?;
    let count: u64 = number(argv, 2, "COUNT")?;
    let size: usize = number(argv, 3, "SIZE")?;
    // A pattern with a prime period, so a misplaced block is visible.
    let block: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();

    let fd = guest
        .open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        .or_fail(&format!("open {file}"))?;
    for _ in 0..count {
        guest
            .write_all(fd, &block)
            .or_fail(&format!("write {file}"))?;
    }
    guest.close(fd).or_fail(&format!("close {file}"))?;
    guest.print(&format!("wrote {} bytes\n", count * size as u64));
    Ok(())
}
