//! tee-log's output on every fixture, byte for byte: what each command
//! prints (and writes, for timeline and repro) is kept under
//! `tests/golden/`, so moving or restructuring the tools shows any change
//! in what a user sees. `GOLDEN_WRITE=1` rewrites the expected files, and
//! `GOLDEN_TEE_LOG=PATH` runs another build's tee-log (to take the
//! expected output from the commit before a change).

use crate::util::{bin, scratch, Output};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Every fixture log, by a name for its golden file.
fn fixtures() -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for (dir, prefix) in [
        ("formats/tests/fixtures", ""),
        ("tests/fixtures/hostile", "hostile-"),
    ] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .expect("fixtures")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "tlog"))
            .collect();
        names.sort();
        for path in names {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            found.push((format!("{prefix}{stem}"), path));
        }
    }
    found
}

fn tee_log() -> String {
    std::env::var("GOLDEN_TEE_LOG").unwrap_or_else(|_| bin("tee-log").to_string())
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(tee_log());
    command.current_dir(dir).args(args);
    crate::util::finish_within(&mut command, std::time::Duration::from_secs(60))
        .unwrap_or_else(|| panic!("tee-log {args:?} ran past a minute"))
}

/// Output longer than this is kept as its length, CRC-32 and start: the
/// hostile fixtures make tens of megabytes of JSON.
const KEPT_WHOLE: usize = 16 << 10;

/// `text` as a golden file keeps it, scratch directories named alike.
fn kept(text: &str) -> String {
    let scratch = format!("{}/.tmp", std::env::temp_dir().display());
    let mut text = text.to_string();
    while let Some(at) = text.find(&scratch) {
        let end = text[at + scratch.len()..]
            .find('/')
            .map_or(text.len(), |i| at + scratch.len() + i);
        text.replace_range(at..end, "SCRATCH");
    }
    if text.len() <= KEPT_WHOLE {
        return text;
    }
    let mut cut = 4096;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "({} bytes, CRC-32 {:08x}; it begins:)\n{}\n(...)\n",
        text.len(),
        crc32fast::hash(text.as_bytes()),
        &text[..cut]
    )
}

/// One command's part of a golden file: its words, status and output,
/// and the files it wrote.
fn section(dir: &Path, args: &[&str], wrote: &[&str]) -> String {
    let out = run_in(dir, args);
    let mut text = format!(
        "$ tee-log {}\nstatus {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status,
        kept(&out.stdout),
        kept(&out.stderr)
    );
    for name in wrote {
        let path = dir.join(name);
        let body = std::fs::read(&path)
            .map(|b| kept(&String::from_utf8_lossy(&b)))
            .unwrap_or_else(|_| "(not written)\n".into());
        text.push_str(&format!("--- {name}\n{body}"));
        let _ = std::fs::remove_file(&path);
    }
    text.push('\n');
    text
}

/// `section`, with reduce's run time ("in 0.4 s") taken out.
fn timeless(text: String) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match (line.find(" replays in "), line.find(" s;")) {
            (Some(a), Some(b)) if a < b => {
                out.push_str(&line[..a + " replays in ".len()]);
                out.push('T');
                out.push_str(&line[b..]);
            }
            _ => out.push_str(line),
        }
    }
    out
}

#[test]
fn tee_log_prints_what_it_printed_on_every_fixture() {
    let write = std::env::var_os("GOLDEN_WRITE").is_some();
    let mut changed = Vec::new();
    let all = fixtures();
    for (i, (name, path)) in all.iter().enumerate() {
        let dir = scratch();
        std::fs::copy(path, dir.path().join("in.tlog")).expect("copy the fixture");
        // The next fixture, to diff against.
        let other = &all[(i + 1) % all.len()].1;
        std::fs::copy(other, dir.path().join("other.tlog")).expect("copy the other");
        let d = dir.path();
        let text = [
            section(d, &["dump", "in.tlog"], &[]),
            section(d, &["dump", "-y", "-T", "-tt", "in.tlog"], &[]),
            section(d, &["dump", "--json", "in.tlog"], &[]),
            section(d, &["stats", "--per-cage", "in.tlog"], &[]),
            section(d, &["verify", "in.tlog"], &[]),
            section(d, &["diff", "in.tlog", "other.tlog"], &[]),
            section(
                d,
                &["timeline", "in.tlog", "-o", "t.json", "--svg", "t.svg"],
                &["t.json", "t.svg"],
            ),
            section(d, &["repro", "in.tlog", "-o", "r.c"], &["r.c"]),
        ]
        .concat();
        // reduce replays each candidate, so only the small logs: every
        // call made to fail, the divergence at the first.
        let text = if name.ends_with("-small") {
            let reduce = &[
                "reduce",
                "in.tlog",
                "-o",
                "small.tlog",
                "--stack",
                "%<",
                "faulty-grate",
                "errno=EIO",
                "%>",
            ];
            text + &timeless(section(d, reduce, &[])) + &section(d, &["dump", "small.tlog"], &[])
        } else {
            text
        };
        let golden = root().join("tests/golden").join(format!("{name}.txt"));
        if write {
            std::fs::create_dir_all(golden.parent().unwrap()).expect("golden dir");
            std::fs::write(&golden, &text).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (GOLDEN_WRITE=1 writes it)", golden.display()));
        if want != text {
            let at = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(text.lines().count()));
            changed.push(format!(
                "{name}: line {}: want {:?}, got {:?}",
                at + 1,
                want.lines().nth(at),
                text.lines().nth(at)
            ));
        }
    }
    assert!(changed.is_empty(), "{changed:#?}");
}
