//! `tee-log timeline`: the Trace Event Format file checked field by field
//! against what the format requires, and the SVG rendered in a real
//! headless browser.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{run_ok, scratch};

/// Records demo-files into `dir/t.log`; returns the log's absolute path.
fn demo_log(dir: &Path) -> PathBuf {
    run_ok(
        dir,
        "tee-grate",
        &["--timing", "call", "--record", "t.log", "--", "demo-files"],
        0,
    );
    dir.join("t.log")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn num(event: &Value, field: &str) -> f64 {
    event[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {event}"))
}

#[test]
fn timeline_json_has_the_trace_event_formats_required_fields() {
    let rec = scratch();
    let log = demo_log(rec.path());
    // Absolute host paths for both files, from another directory.
    let elsewhere = scratch();
    let json = rec.path().join("out").join("trace.json");
    std::fs::create_dir(rec.path().join("out")).unwrap();
    let out = run_ok(
        elsewhere.path(),
        "tee-log",
        &["timeline", path_str(&log), "-o", path_str(&json)],
        0,
    );
    assert!(out.stdout.contains("trace.json"), "{}", out.stdout);
    let trace: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("JSON");
    let events = trace["traceEvents"].as_array().expect("traceEvents array");

    let mut lanes: HashMap<(u64, u64), Vec<(f64, f64)>> = HashMap::new();
    let mut flow_starts: HashMap<u64, u64> = HashMap::new();
    let mut flow_ends: HashMap<u64, (u64, u64, f64)> = HashMap::new();
    let mut calls = 0;
    let mut names: HashMap<u64, String> = HashMap::new();
    for e in events {
        let ph = e["ph"].as_str().unwrap_or_else(|| panic!("no ph: {e}"));
        assert!(e["name"].is_string(), "no name: {e}");
        let pid = e["pid"].as_u64().unwrap_or_else(|| panic!("no pid: {e}"));
        let tid = e["tid"].as_u64().unwrap_or_else(|| panic!("no tid: {e}"));
        if ph != "M" {
            assert!(num(e, "ts") >= 0.0, "{e}");
        }
        match ph {
            "X" => {
                let dur = num(e, "dur");
                assert!(dur >= 0.0, "{e}");
                lanes
                    .entry((pid, tid))
                    .or_default()
                    .push((num(e, "ts"), dur));
                // A call's slice carries its decoded line; a fork's, its child.
                if e["args"]["call"].is_string() {
                    calls += 1;
                    assert!(e["args"]["record"].is_u64(), "{e}");
                } else {
                    assert!(e["args"]["child"].is_u64(), "{e}");
                }
            }
            "i" => assert!(
                ["t", "p", "g"].contains(&e["s"].as_str().unwrap_or("")),
                "{e}"
            ),
            "s" => {
                flow_starts.insert(e["id"].as_u64().expect("flow id"), pid);
            }
            "f" => {
                let id = e["id"].as_u64().expect("flow id");
                flow_ends.insert(id, (pid, tid, num(e, "ts")));
            }
            "M" => match e["name"].as_str() {
                Some("process_name") => {
                    names.insert(pid, e["args"]["name"].as_str().unwrap().to_owned());
                }
                Some("thread_name") => assert!(e["args"]["name"].is_string(), "{e}"),
                Some("process_sort_index") => assert!(e["args"]["sort_index"].is_u64()),
                other => panic!("unknown metadata {other:?}"),
            },
            other => panic!("unexpected phase {other}: {e}"),
        }
    }

    // One slice per syscall record.
    let records = formats::read_all(&log, formats::RecoveryMode::Strict).unwrap();
    let syscalls = records
        .records
        .iter()
        .filter(|r| matches!(r, formats::Record::Syscall(_)))
        .count();
    assert_eq!(calls, syscalls);
    // A lane never holds two slices at once (the format needs nesting).
    for (lane, mut slices) in lanes.clone() {
        slices.sort_by(|a, b| a.0.total_cmp(&b.0));
        for pair in slices.windows(2) {
            assert!(
                pair[1].0 + 1e-6 >= pair[0].0 + pair[0].1,
                "{lane:?}: {pair:?} overlap"
            );
        }
    }
    // Each fork's arrow goes from the parent to a slice of the child.
    let forks: Vec<(u64, u64)> = records
        .records
        .iter()
        .filter_map(|r| match r {
            formats::Record::Fork(f) if !f.thread => Some((f.parent, f.child)),
            _ => None,
        })
        .collect();
    assert_eq!(forks.len(), 2, "the tee's start and demo-files' child");
    assert_eq!(flow_starts.len(), forks.len());
    for (id, parent) in &flow_starts {
        let (child, tid, ts) = flow_ends[id];
        assert!(forks.contains(&(*parent, child)), "flow {id}");
        assert!(
            lanes[&(child, tid)].iter().any(|s| (s.0 - ts).abs() < 1e-6),
            "flow {id} ends on a slice of cage {child}"
        );
    }
    assert!(
        names.values().any(|n| n.ends_with("(demo-files)")),
        "{names:?}"
    );
    assert!(
        names.values().any(|n| n.ends_with("(demo-child)")),
        "{names:?}"
    );

    // An existing file is refused, replaced with --force; relative paths
    // are the shell's directory's.
    let refused = run_ok(
        elsewhere.path(),
        "tee-log",
        &["timeline", path_str(&log), "-o", path_str(&json)],
        2,
    );
    assert!(
        refused.stderr.contains("trace.json: exists"),
        "{}",
        refused.stderr
    );
    run_ok(
        rec.path(),
        "tee-log",
        &["timeline", "t.log", "-o", "out/trace.json", "--force"],
        0,
    );
    let usage = run_ok(rec.path(), "tee-log", &["timeline", "t.log"], 2);
    assert!(usage.stderr.contains("--svg"), "{}", usage.stderr);
}

/// The browser the test renders with, if this machine has one.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// `data-NAME="N"` in `tag`.
fn attr(tag: &str, name: &str) -> u32 {
    let key = format!("data-{name}=\"");
    let at = tag.find(&key).unwrap_or_else(|| panic!("{key} in {tag}")) + key.len();
    tag[at..].split('"').next().unwrap().parse().unwrap()
}

#[test]
fn timeline_svg_renders_its_lanes_in_headless_chromium() {
    let rec = scratch();
    let log = demo_log(rec.path());
    let svg = rec.path().join("t.svg");
    run_ok(
        scratch().path(),
        "tee-log",
        &["timeline", path_str(&log), "--svg", path_str(&svg)],
        0,
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    let lanes: Vec<&str> = text
        .match_indices("<g class=\"lane\"")
        .map(|(at, _)| &text[at..at + text[at..].find('>').unwrap()])
        .collect();
    assert_eq!(lanes.len(), 3, "cages 1, 2 and 3, one lane each: {lanes:?}");
    assert!(text.contains("cage 2 (demo-files)"), "{text}");

    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs chromium (.ci/run); it is not on PATH"
        );
        eprintln!("skipped: no chromium on PATH to render the SVG with");
        return;
    };
    let width = text
        .split("width=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let height = text
        .split("height=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let png = rec.path().join("t.png");
    let status = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            &format!("--screenshot={}", png.display()),
            &format!("--window-size={width},{height}"),
            &format!("file://{}", svg.display()),
        ])
        .env("HOME", rec.path())
        .output()
        .expect("run chromium");
    assert!(status.status.success(), "{status:?}");

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let channels = frame.color_type.samples();
    let at = |x: u32, y: u32| {
        let i = (y as usize * frame.width as usize + x as usize) * channels;
        [pixels[i], pixels[i + 1], pixels[i + 2]]
    };
    let blank = [[0xff, 0xff, 0xff], [0xf2, 0xf2, 0xf2]];
    let painted = |x0: u32, x1: u32, y0: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| !blank.contains(&at(x, y)))
            .count()
    };
    for lane in &lanes {
        let (x, w, y, h) = (
            attr(lane, "x"),
            attr(lane, "w"),
            attr(lane, "y"),
            attr(lane, "h"),
        );
        // Inside the lane, below where error marks go.
        let inside = painted(x, x + w, y + 4, y + h - 1);
        assert!(inside > 0, "lane {lane} rendered blank");
        // The lane's background itself was drawn.
        assert!(
            (x..x + w).any(|px| at(px, y + h - 2) == blank[1]),
            "lane {lane} has no background"
        );
    }
    // The busiest lane (demo-files) is mostly painted, the fork's lane
    // (cage 1) only where it forked.
    let lane_paint = |lane: &str| {
        let (x, w, y, h) = (
            attr(lane, "x"),
            attr(lane, "w"),
            attr(lane, "y"),
            attr(lane, "h"),
        );
        painted(x, x + w, y + 4, y + h - 1)
    };
    assert!(
        lane_paint(lanes[1]) > 20 * lane_paint(lanes[0]),
        "{lanes:?}"
    );
}

#[test]
fn calls_that_overlap_in_time_get_lanes_of_their_own() {
    use formats::{LogHeader, LogWriter, SyncPolicy};
    let dir = scratch();
    let log = dir.path().join("threads.tlog");
    let header = LogHeader::new("tee-grate", "0.1.0", "host-wasm32-sim", vec!["t".into()]);
    let w = LogWriter::create(&log, &header, SyncPolicy::OnExit).unwrap();
    // Two threads of cage 2: a read blocked from 1 ms to 5 ms while the
    // other thread's writes run, then one call after it, back in lane 1.
    let call = |seq: u64, nr: u32, end_us: u64, took_us: u64| {
        formats::build::call_nr(seq, 2, nr, &[0; 6], 0)
            .at(end_us)
            .took(took_us * 1_000)
            .record()
    };
    for r in [
        call(0, 1, 2_000, 500),
        call(1, 1, 3_000, 500),
        call(2, 0, 5_000, 4_000),
        call(3, 3, 6_000, 100),
    ] {
        w.append(&r);
    }
    w.finish();
    let json = dir.path().join("t.json");
    let svg = dir.path().join("t.svg");
    run_ok(
        dir.path(),
        "tee-log",
        &["timeline", "threads.tlog", "-o", "t.json", "--svg", "t.svg"],
        0,
    );
    let trace: Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let tid_of = |name: &str| -> Vec<u64> {
        trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X" && e["name"] == name)
            .map(|e| e["tid"].as_u64().unwrap())
            .collect()
    };
    // The writes began first and take lane 1; the read overlapping the
    // second write goes to lane 2; the close, after all, to lane 1.
    assert_eq!(tid_of("write"), [1, 1]);
    assert_eq!(tid_of("read"), [2]);
    assert_eq!(tid_of("close"), [1]);
    let text = std::fs::read_to_string(svg).unwrap();
    assert_eq!(text.matches("<g class=\"lane\" data-cage=\"2\"").count(), 2);
    assert!(text.contains(">lane 2<"), "{text}");
}

#[test]
fn the_readme_picture_is_a_timeline_of_the_bundled_demo() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("](docs/timeline-demo.svg)"),
        "README shows it"
    );
    assert!(
        readme.contains("tee-log timeline trace.log --svg docs/timeline-demo.svg"),
        "README says how it is made"
    );
    let svg = std::fs::read_to_string(root.join("docs/timeline-demo.svg")).unwrap();
    assert!(svg.contains("<!-- tee-log timeline "), "made by tee-log");
    for cage in ["(demo-files)", "(demo-child)"] {
        assert!(svg.contains(cage), "a lane for {cage}");
    }
}
