//! Running the binaries as a user does, in a scratch directory.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a single command may run before the test fails.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A finished command.
#[derive(Debug)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The path of one of this package's binaries.
pub fn bin(name: &str) -> &'static str {
    match name {
        "tee-grate" => env!("CARGO_BIN_EXE_tee-grate"),
        "tee-replay" => env!("CARGO_BIN_EXE_tee-replay"),
        "tee-log" => env!("CARGO_BIN_EXE_tee-log"),
        "lind-host" => env!("CARGO_BIN_EXE_lind-host"),
        other => panic!("no binary {other}"),
    }
}

/// Starts `name args` in `dir` with piped output.
pub fn spawn(dir: &Path, name: &str, args: &[&str]) -> Child {
    spawn_command(Command::new(bin(name)).args(args).current_dir(dir), name)
}

/// Starts `command` with no input and piped output.
pub fn spawn_command(command: &mut Command, what: &str) -> Child {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"))
}

/// Waits for `child`, failing the test if it runs past the timeout.
pub fn finish(child: Child, what: &str) -> Output {
    wait_within(child, TIMEOUT).unwrap_or_else(|| panic!("{what}: still running after {TIMEOUT:?}"))
}

/// Runs `command` with no input and piped output; `None` if it ran past
/// `limit` (it is killed).
pub fn finish_within(command: &mut Command, limit: Duration) -> Option<Output> {
    wait_within(spawn_command(command, "a command"), limit)
}

/// Waits for `child` at most `limit`, reading its output as it comes.
fn wait_within(mut child: Child, limit: Duration) -> Option<Output> {
    let start = Instant::now();
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Some(Output {
        status: status.code().unwrap_or(-1),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    })
}

/// Runs `command` until its stderr says a line containing `said`, waits
/// a moment more for what follows, then kills it: for a run that is
/// expected not to end by itself. `None` if the line never came within
/// `limit`. The status is the kill's.
pub fn run_until_said(command: &mut Command, said: &str, limit: Duration) -> Option<Output> {
    use std::io::{BufRead, BufReader};
    let mut child = spawn_command(command, "a command");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let start = Instant::now();
    let mut lines = Vec::new();
    let found = loop {
        let left = limit.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(said);
                lines.push(line);
                if found {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    // What is said after the line comes at once, if at all.
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        lines.push(line);
    }
    let _ = child.kill();
    let status = child.wait().expect("wait");
    found.then(|| Output {
        status: status.code().unwrap_or(-1),
        stdout: out.join().expect("stdout reader"),
        stderr: lines.join("\n"),
    })
}

/// Runs `name args` in `dir` to completion.
pub fn run(dir: &Path, name: &str, args: &[&str]) -> Output {
    finish(
        spawn(dir, name, args),
        &format!("{name} {}", args.join(" ")),
    )
}

/// Runs and requires exit status `want`, showing the output otherwise.
pub fn run_ok(dir: &Path, name: &str, args: &[&str], want: i32) -> Output {
    let output = run(dir, name, args);
    assert_eq!(
        output.status,
        want,
        "{name} {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        output.stdout,
        output.stderr
    );
    output
}

/// Every file under `dir` (relative path -> bytes) and every directory
/// (relative path -> None).
pub fn tree(dir: &Path) -> Tree {
    fn walk(root: &Path, at: &Path, out: &mut BTreeMap<String, Option<Vec<u8>>>) {
        let Ok(entries) = std::fs::read_dir(at) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.insert(rel, None);
                walk(root, &path, out);
            } else {
                out.insert(rel, Some(std::fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Files as a map from relative path to contents (None for directories).
pub type Tree = BTreeMap<String, Option<Vec<u8>>>;

/// Fails with the first differing path, not a dump of both trees.
#[track_caller]
pub fn assert_same_tree(got: &Tree, want: &Tree, what: &str) {
    let paths: std::collections::BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    for path in paths {
        let show = |t: &Tree| match t.get(path) {
            None => "missing".to_string(),
            Some(None) => "a directory".to_string(),
            Some(Some(bytes)) => format!(
                "{:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
            ),
        };
        assert!(
            got.get(path) == want.get(path),
            "{what}: {path} differs: got {} / want {}",
            show(got),
            show(want)
        );
    }
}

/// A scratch directory for one test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The demo workload's output and files after a plain run, with no tee:
/// the baseline every teed run is held to. Computed once per test binary.
pub fn plain_demo_files() -> &'static (Output, Tree) {
    static PLAIN: std::sync::OnceLock<(Output, Tree)> = std::sync::OnceLock::new();
    PLAIN.get_or_init(|| {
        let dir = scratch();
        let output = run_ok(dir.path(), "lind-host", &["demo-files"], 0);
        let files = tree(&dir.path().join("demo-out"));
        assert!(files.len() >= 6, "demo-files left too few files: {files:?}");
        (output, files)
    })
}

/// Runs `tee-grate ARGS... demo-files` in a fresh directory and requires
/// the app to exit 0 having printed exactly what it prints with no tee.
pub fn tee_demo_files(args: &[&str]) -> (tempfile::TempDir, Output) {
    let dir = scratch();
    let mut argv = args.to_vec();
    argv.push("demo-files");
    let teed = run_ok(dir.path(), "tee-grate", &argv, 0);
    assert_eq!(
        teed.stdout,
        plain_demo_files().0.stdout,
        "the app's output changed under the tee {args:?}"
    );
    (dir, teed)
}

/// Requires `dir/rel` to hold exactly the files a plain demo run leaves.
#[track_caller]
pub fn assert_demo_tree(dir: &Path, rel: &str) {
    assert_same_tree(&tree(&dir.join(rel)), &plain_demo_files().1, rel);
}

/// `count` damaged ranges: each a frame that is not a record, then a frame
/// start claiming 1 MiB that is not there.
pub fn many_damaged_ranges(count: usize) -> Vec<u8> {
    // A one-byte payload 0xFF is no record; its frame CRC is valid.
    let not_a_record = [0xF9, 0x1C, 0x01, 0x33, 0xCC, 0xC0, 0x75, 0xFF];
    let false_start = [0xF9, 0x1C, 0x80, 0x80, 0x40];
    let mut bytes = Vec::new();
    for _ in 0..count {
        bytes.extend(not_a_record);
        bytes.extend(false_start);
    }
    bytes
}
