//! `demo-writes FILE COUNT SIZE [THREADS [shared|own]]`: the 4 KiB-write
//! benchmark's workload.
//!
//! With THREADS, that many threads share the COUNT writes: `shared` (the
//! default) has them all append to one fd of FILE, which the tee must keep
//! in order; `own` gives each thread its own file, FILE.N, which it need
//! not.

use super::{number, on_threads, Failure, OrFail, Outcome};
use boundary::consts::open_flags::{O_APPEND, O_CREAT, O_TRUNC, O_WRONLY};
use boundary::Guest;
use std::sync::Arc;

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    let usage =
        || Failure::Usage("usage: demo-writes FILE COUNT SIZE [THREADS [shared|own]]".into());
    let file = argv.get(1).ok_or_else(usage)?.clone();
    let count: u64 = number(argv, 2, "COUNT")?;
    let size: usize = number(argv, 3, "SIZE")?;
    let threads: usize = if argv.len() > 4 {
        number(argv, 4, "THREADS")?
    } else {
        0
    };
    let own = match argv.get(5).map(String::as_str) {
        None | Some("shared") => false,
        Some("own") => true,
        Some(_) => return Err(usage()),
    };
    // A pattern with a prime period, so a misplaced block is visible.
    let block: Arc<Vec<u8>> = Arc::new((0..size).map(|i| (i % 251) as u8).collect());

    let create = O_WRONLY | O_CREAT | O_TRUNC;
    let fd = guest
        .open(&file, create | O_APPEND, 0o644)
        .or_fail(&format!("open {file}"))?;
    if threads == 0 {
        write_n(guest, fd, &block, count, &file)?;
    } else {
        let (file, block) = (file.clone(), Arc::clone(&block));
        on_threads(guest, threads, move |t, guest| {
            let share = count / threads as u64 + u64::from((t as u64) < count % threads as u64);
            if !own {
                return write_n(guest, fd, &block, share, &file);
            }
            let path = format!("{file}.{t}");
            let own_fd = guest
                .open(&path, create, 0o644)
                .or_fail(&format!("open {path}"))?;
            write_n(guest, own_fd, &block, share, &path)?;
            guest.close(own_fd).or_fail(&format!("close {path}"))
        })?;
    }
    guest.close(fd).or_fail(&format!("close {file}"))?;
    guest.print(&format!("wrote {} bytes\n", count * size as u64));
    Ok(())
}

fn write_n(guest: &Guest<'_>, fd: i32, block: &[u8], n: u64, file: &str) -> Outcome {
    for _ in 0..n {
        guest
            .write_all(fd, block)
            .or_fail(&format!("write {file}"))?;
    }
    Ok(())
}
