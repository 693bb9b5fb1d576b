//! Lind's own unit tests (lind-wasm `tests/unit-tests/*/deterministic`, at
//! the kit's commit), run bare and under every tee form.
//!
//! The kit ships them as `lind-tests.tar.zst`: each test's source and its
//! optimized `.wasm`; only the precompile step is left, done once and kept
//! while the `.wasm` is unchanged. A test counts when two bare runs agree
//! and exit 0 (an unstable one is reported and skipped, never dropped
//! silently); a form passes it when stdout and exit status equal the bare
//! run's. Recordings must also verify on the host and replay on Lind into
//! archive-grate with no divergence.
//!
//! The tests write into the lindfs root and into `testfiles/` (lindfs
//! persists), so each run starts from a fresh copy of `testfiles/` and
//! what a run leaves at the root is removed after it. They run one at a
//! time: two of them at once would share those files.

use crate::kit::Kit;
use crate::util::Output;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Longest one run may take; `alarm` takes about 7 s bare.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Where precompiled tests are installed, as a lindfs path.
const UNIT_DIR: &str = "unit";

/// Root entries a cleanup never removes: what the kit, lind/build.sh and
/// the rest of the tier keep there.
fn protected(name: &str) -> bool {
    matches!(name, "tier" | "grates" | "testfiles" | UNIT_DIR) || name.ends_with(".cwasm")
}

/// The kit's tarball of Lind's unit tests: `LIND_TESTS`, or the shared
/// kit's copy beside this repository.
fn tarball() -> PathBuf {
    match std::env::var_os("LIND_TESTS") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/lind/lind-tests.tar.zst"),
    }
}

/// Lind's unit tests, extracted and precompiled into lindfs.
pub struct Suite {
    /// `CATEGORY/NAME`, in the tarball's MANIFEST order.
    pub tests: Vec<String>,
    /// The extracted `testfiles/`, copied into lindfs before each run.
    testfiles: PathBuf,
}

impl Suite {
    /// Extracts the tarball and precompiles every test that changed since
    /// the last time (about 2 s each).
    pub fn install(kit: &Kit) -> Suite {
        let tarball = tarball();
        assert!(
            tarball.is_file(),
            "no Lind unit tests at {} (set LIND_TESTS)",
            tarball.display()
        );
        let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lind-unit");
        let tree = work.join("lind-tests");
        let _ = std::fs::remove_dir_all(&tree);
        std::fs::create_dir_all(&work).expect("work dir");
        let untar = Command::new("tar")
            .arg("--zstd")
            .arg("-xf")
            .arg(&tarball)
            .current_dir(&work)
            .status()
            .expect("tar");
        assert!(untar.success(), "tar --zstd -xf {}", tarball.display());
        let manifest = std::fs::read_to_string(tree.join("MANIFEST")).expect("MANIFEST");
        let tests: Vec<String> = manifest
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        for test in &tests {
            precompile(kit, &work, &tree, test);
        }
        Suite {
            tests,
            testfiles: tree.join("testfiles"),
        }
    }

    /// The lindfs path of a test's program.
    pub fn program(test: &str) -> String {
        format!("{UNIT_DIR}/{test}.cwasm")
    }

    /// Runs `lind-boot ARGS` from a clean state: a fresh `testfiles/`,
    /// and whatever the run left at the lindfs root removed after it.
    /// `Err` when it ran past [`RUN_LIMIT`] (it is killed).
    pub fn run(&self, kit: &Kit, args: &[&str]) -> Result<Output, String> {
        let lindfs = PathBuf::from(kit.host("/"));
        let testfiles = lindfs.join("testfiles");
        let _ = std::fs::remove_dir_all(&testfiles);
        copy_tree(&self.testfiles, &testfiles);
        let before = root_names(&lindfs);
        let ran = bounded(kit, args);
        for name in root_names(&lindfs).difference(&before) {
            if !protected(name) {
                let path = lindfs.join(name);
                let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
            }
        }
        ran
    }
}

/// Precompiles `test` into lindfs `unit/CATEGORY/`, unless the copy made
/// last time came from the same `.wasm`.
fn precompile(kit: &Kit, work: &Path, tree: &Path, test: &str) {
    let wasm = tree.join(format!("{test}.wasm"));
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
    let kept = work.join("compiled").join(format!("{test}.wasm"));
    let installed = PathBuf::from(kit.host(&Suite::program(test)));
    if std::fs::read(&kept).ok() == Some(bytes) && installed.is_file() {
        return;
    }
    let category = Path::new(test).parent().expect("CATEGORY/NAME");
    let out_dir = Path::new(UNIT_DIR).join(category);
    let done = Command::new("lind_compile")
        .args(["-s", "--precompile-only", "--output-dir"])
        .arg(&out_dir)
        .arg(&wasm)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("lind_compile");
    assert!(
        done.success() && installed.is_file(),
        "lind_compile -s --precompile-only {}",
        wasm.display()
    );
    std::fs::create_dir_all(kept.parent().expect("parent")).expect("compiled dir");
    std::fs::copy(&wasm, &kept).expect("keep the wasm");
}

fn root_names(lindfs: &Path) -> BTreeSet<String> {
    std::fs::read_dir(lindfs)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read testfiles") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if kind.is_symlink() {
            let link = std::fs::read_link(entry.path()).expect("read link");
            std::os::unix::fs::symlink(link, &target).expect("symlink");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `lind-boot ARGS`, killed after [`RUN_LIMIT`].
fn bounded(kit: &Kit, args: &[&str]) -> Result<Output, String> {
    let mut command = Command::new(kit.boot());
    command.args(args).current_dir(kit.root());
    crate::util::finish_within(&mut command, RUN_LIMIT)
        .ok_or_else(|| format!("still running after {} s", RUN_LIMIT.as_secs()))
}
