//! A chain of three bundled grates over the demo app, stacked as on Lind
//! (docs/lind-3i.md §7).

use crate::util::run;

/// passthrough -> strace -> imfs -> demo-files: the app's calls reach imfs
/// first; what imfs forwards reaches strace; strace forwards to
/// passthrough, which forwards to the kernel.
const CHAIN: &[&str] = &[
    "passthrough-grate",
    "strace-grate",
    "--log",
    "/strace.log",
    "imfs-grate",
    "--dump-to",
    "/dump",
    "demo-files",
    "/demo",
];

#[test]
fn a_chain_of_three_grates_over_the_demo_app_behaves_as_on_lind() {
    let ran = run(programs::bundled(), CHAIN);
    let out = ran.ok();
    assert_eq!(out.status, 0, "stderr: {}", out.stderr_text());
    assert!(out.stdout_text().contains("demo-files: /demo\n"));
    let root = ran.root.path();

    // File calls landed in the in-memory filesystem, not in lindfs; imfs's
    // dump holds exactly what a direct run leaves.
    assert!(!root.join("demo").exists());
    for (name, content) in programs::apps::demo_files_expected() {
        let dumped = std::fs::read(root.join("dump/demo").join(name)).unwrap();
        assert_eq!(dumped, content, "{name}");
    }

    // strace (cage 2) sees only what imfs (cage 3) forwards for the app
    // (cage 4) and its forked, exec'd child (cage 5): process calls and
    // stdout writes, never a path or fd call on the demo's files.
    let log = std::fs::read_to_string(root.join("strace.log")).unwrap();
    let app_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("[cage 4]") || l.starts_with("[cage 5]"))
        .collect();
    assert!(!app_lines.is_empty());
    for line in &app_lines {
        let call = line.split_once("] ").map_or("", |(_, c)| c);
        let forwarded = ["execve(", "clone(", "wait4(", "exit_group(", "write(1, "];
        assert!(
            forwarded.iter().any(|p| call.starts_with(p)),
            "imfs should not forward {line}"
        );
    }
    // The app's fork and exec went through the chain.
    assert!(log.contains("[cage 4] clone("));
    assert!(log.contains("[cage 5] execve(\"demo-child\""));

    // Every grate outlived the cages routed through it: no stop, and imfs
    // exited only after the app and its child had.
    let pos = |needle: &str| log.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(pos("[cage 3] exit_group(") > pos("[cage 4] exit_group("));
    assert!(pos("[cage 4] exit_group(") > pos("[cage 5] exit_group("));
    assert!(ran.rt.live_cages().is_empty());
}

#[test]
fn the_demo_app_run_directly_leaves_the_same_files() {
    let ran = run(programs::bundled(), &["demo-files", "/demo"]);
    assert_eq!(ran.ok().status, 0, "stderr: {}", ran.ok().stderr_text());
    for (name, content) in programs::apps::demo_files_expected() {
        let real = std::fs::read(ran.root.path().join("demo").join(name)).unwrap();
        assert_eq!(real, content, "{name}");
    }
}
