//! `demo-writes FILE COUNT SIZE [THREADS [shared|own [CONTENT]]]`: the
//! 4 KiB-write benchmark's workload.
//!
//! With THREADS (0: the main thread alone), that many threads share the
//! COUNT writes: `shared` (the default) has them all append to one fd of
//! FILE, which the tee must keep in order; `own` gives each thread its own
//! file, FILE.N, which it need not. CONTENT is what each write holds, for
//! the compression bench: `pattern` (the default; the same block every
//! time), `text` (log lines, a different block each write) or `noise`
//! (pseudo-random bytes, which nothing compresses).

use super::{number, on_threads, Failure, OrFail, Outcome};
use boundary::consts::open_flags::{O_APPEND, O_CREAT, O_TRUNC, O_WRONLY};
use boundary::Guest;
use std::sync::Arc;

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    let usage = || {
        Failure::Usage(
            "usage: demo-writes FILE COUNT SIZE [THREADS [shared|own [pattern|text|noise]]]".into(),
        )
    };
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
    let content = match argv.get(6).map(String::as_str) {
        None | Some("pattern") => Content::Pattern,
        Some("text") => Content::Text,
        Some("noise") => Content::Noise,
        Some(_) => return Err(usage()),
    };
    // A pattern with a prime period, so a misplaced block is visible.
    let block: Arc<Vec<u8>> = Arc::new((0..size).map(|i| (i % 251) as u8).collect());
    if content != Content::Pattern {
        if threads != 0 {
            return Err(usage());
        }
        let fd = guest
            .open(&file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            .or_fail(&format!("open {file}"))?;
        let mut block = vec![0; size];
        for n in 0..count {
            content.fill(&mut block, n);
            guest
                .write_all(fd, &block)
                .or_fail(&format!("write {file}"))?;
        }
        guest.close(fd).or_fail(&format!("close {file}"))?;
        guest.print(&format!("wrote {} bytes\n", count * size as u64));
        return Ok(());
    }

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

/// What a write holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    Pattern,
    Text,
    Noise,
}

impl Content {
    /// Fills `block` for the `n`th write.
    fn fill(self, block: &mut [u8], n: u64) {
        match self {
            Content::Pattern => {
                for (i, b) in block.iter_mut().enumerate() {
                    *b = (i % 251) as u8;
                }
            }
            Content::Text => {
                let mut line = n * 37;
                let mut text = Vec::with_capacity(block.len() + 128);
                while text.len() < block.len() {
                    line += 1;
                    let path = ["/api/items", "/index.html", "/static/app.js", "/login"];
                    text.extend_from_slice(
                        format!(
                            "2026-12-02T06:{:02}:{:02}.{:03}Z INFO req={line:06} GET {}/{} {} {}.{}ms\n",
                            line / 60 % 60,
                            line % 60,
                            line * 7 % 1000,
                            path[(line % 4) as usize],
                            line * 13 % 5000,
                            [200, 200, 304, 404][(line % 4) as usize],
                            line % 9,
                            line % 10
                        )
                        .as_bytes(),
                    );
                }
                block.copy_from_slice(&text[..block.len()]);
            }
            Content::Noise => {
                // xorshift64: cheap, and no codec finds anything to take out.
                let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for b in block.iter_mut() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *b = (x >> 24) as u8;
                }
            }
        }
    }
}
