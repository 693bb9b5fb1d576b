//! The Lind kit as the tier sees it: where lind-boot and lindfs are, the
//! workload compiled for Lind, fresh run directories, baselines.

use crate::util::{self, finish, spawn_command, tree, Output, Tree};
use abi::sync::lock;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// The workloads of `tier-app.c`.
pub const SCENARIOS: &[&str] = &[
    "files", "forkexec", "threads", "pipes", "dup", "cloexec", "errors",
];

/// Where the workload is installed, as a lindfs path.
const APP: &str = "tier/tier-app.cwasm";

/// What `lind/build.sh` installs, and Lind's own grates from the kit.
const PROGRAMS: &[&str] = &[
    "tee-grate.cwasm",
    "tee-replay.cwasm",
    "grates/archive-grate.cwasm",
    "grates/passthrough-grate.cwasm",
    "grates/faulty-grate.cwasm",
    "grates/imfs-grate.cwasm",
    "grates/strace-grate-rs.cwasm",
];

/// A bare run of one scenario.
pub struct Baseline {
    pub status: i32,
    pub stdout: String,
    pub files: Tree,
}

/// The kit, checked once.
pub struct Kit {
    root: PathBuf,
    boot: PathBuf,
    baselines: Mutex<HashMap<String, &'static Baseline>>,
    under_imfs: Mutex<HashMap<String, &'static str>>,
}

fn env_path(name: &str) -> PathBuf {
    match std::env::var_os(name) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => panic!(
            "the Lind tier needs the Lind kit: {name} is not set. Run \
             ../shared/lind/setup.sh, `source` the env.sh it prints, run \
             lind/build.sh, then `cargo test --test lind_tier`"
        ),
    }
}

impl Kit {
    /// The kit, with the workload compiled and installed.
    pub fn get() -> &'static Kit {
        static KIT: OnceLock<Kit> = OnceLock::new();
        KIT.get_or_init(|| {
            let kit = Kit {
                root: env_path("LIND_ROOT"),
                boot: env_path("LIND_BOOT"),
                baselines: Mutex::default(),
                under_imfs: Mutex::default(),
            };
            assert!(kit.boot.is_file(), "no lind-boot at {}", kit.boot.display());
            for program in PROGRAMS {
                assert!(
                    kit.lindfs().join(program).is_file(),
                    "lindfs has no {program}: run lind/build.sh first"
                );
            }
            kit.install_app();
            kit
        })
    }

    /// lind-boot.
    pub fn boot(&self) -> &Path {
        &self.boot
    }

    /// The kit's root, where lind-boot runs.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lindfs(&self) -> PathBuf {
        self.root.join("lindfs")
    }

    /// The workload's path as Lind programs name it.
    pub fn app(&self) -> &'static str {
        APP
    }

    /// Compiles `lind/tier/tier-app.c` with `lind_compile -s` (about half
    /// a minute), unless the copy compiled last time has the same source.
    fn install_app(&self) {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("lind/tier/tier-app.c");
        let text = std::fs::read(&source).expect("tier-app.c");
        let build = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lind-tier");
        std::fs::create_dir_all(&build).expect("build dir");
        let copy = build.join("tier-app.c");
        let compiled = build.join("tier-app.cwasm");
        let fresh = std::fs::read(&copy).ok() == Some(text.clone()) && compiled.is_file();
        if !fresh {
            let _ = std::fs::remove_file(&compiled);
            std::fs::write(&copy, &text).expect("copy tier-app.c");
            let built = finish(
                spawn_command(
                    Command::new("lind_compile")
                        .args(["-s", "tier-app.c"])
                        .current_dir(&build),
                    "lind_compile",
                ),
                "lind_compile -s tier-app.c",
            );
            assert!(
                compiled.is_file(),
                "lind_compile -s tier-app.c failed: {built:?}"
            );
        }
        let dest = self.lindfs().join(APP);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("lindfs/tier");
        std::fs::copy(&compiled, &dest).expect("install tier-app.cwasm");
    }

    /// The host path of a lindfs path.
    pub fn host(&self, lind_path: &str) -> String {
        self.lindfs()
            .join(lind_path.trim_start_matches('/'))
            .to_string_lossy()
            .into_owned()
    }

    /// The files under a lindfs directory.
    pub fn tree(&self, lind_path: &str) -> Tree {
        tree(Path::new(&self.host(lind_path)))
    }

    /// A fresh run directory under lindfs `/tier`.
    pub fn run_dir(&self, name: &str) -> RunDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let lind = format!("/tier/run-{}-{n}-{}", std::process::id(), slug(name));
        let host = PathBuf::from(self.host(&lind));
        let _ = std::fs::remove_dir_all(&host);
        std::fs::create_dir_all(&host).expect("run dir");
        RunDir { lind, host }
    }

    /// The bare run of `scenario`, made once.
    pub fn baseline(&'static self, scenario: &str) -> &'static Baseline {
        if let Some(&base) = lock(&self.baselines).get(scenario) {
            return base;
        }
        let run = self.run_dir(&format!("bare-{scenario}"));
        let out = run.path(scenario);
        let bare = lind(&[APP, scenario, &out]);
        let base: &'static Baseline = Box::leak(Box::new(Baseline {
            status: bare.status,
            stdout: bare.stdout,
            files: self.tree(&out),
        }));
        lock(&self.baselines).insert(scenario.into(), base);
        base
    }

    /// The app's output under imfs-grate alone, made once.
    pub fn under_imfs(&'static self, scenario: &str) -> &'static str {
        if let Some(&out) = lock(&self.under_imfs).get(scenario) {
            return out;
        }
        let run = self.run_dir(&format!("imfs-{scenario}"));
        let ran = lind(&[
            "grates/imfs-grate.cwasm",
            APP,
            scenario,
            &run.path(scenario),
        ]);
        let out: &'static str = Box::leak(ran.stdout.into_boxed_str());
        lock(&self.under_imfs).insert(scenario.into(), out);
        run.remove_if(true);
        out
    }

    /// `tee-log ARGS` on the host.
    pub fn tee_log(&self, args: &[&str]) -> Output {
        util::run(&self.root, "tee-log", args)
    }

    /// Rebuilds a Lind recording in a host directory with the native
    /// `tee-replay --into-dir`, and returns what it wrote.
    pub fn rebuild_into_dir(&self, log: &str) -> Tree {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::copy(self.host(log), dir.path().join("trace.log")).expect("copy log");
        let rebuilt = finish(
            spawn_command(
                Command::new(util::bin("tee-replay"))
                    .args(["trace.log", "--into-dir", "out"])
                    .current_dir(dir.path())
                    .env_remove("LIND_ROOT"),
                "tee-replay --into-dir",
            ),
            "tee-replay --into-dir",
        );
        assert_eq!(rebuilt.status, 0, "tee-replay --into-dir: {rebuilt:?}");
        tree(&dir.path().join("out"))
    }
}

/// The part of `tree` under lindfs directory `lind_path`, relative to it.
pub fn subtree(tree: &Tree, lind_path: &str) -> Tree {
    let prefix = format!("{}/", lind_path.trim_start_matches('/'));
    tree.iter()
        .filter_map(|(path, file)| {
            path.strip_prefix(&prefix)
                .map(|rest| (rest.to_string(), file.clone()))
        })
        .collect()
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A run directory in lindfs.
pub struct RunDir {
    lind: String,
    host: PathBuf,
}

impl RunDir {
    /// A lindfs path inside the run directory.
    pub fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.lind)
    }

    /// Removes the directory (kept when a check failed, to look at).
    pub fn remove_if(&self, passed: bool) {
        if passed {
            let _ = std::fs::remove_dir_all(&self.host);
        }
    }
}

/// Runs `lind-boot ARGS` from the kit's root, as a user runs Lind.
pub fn lind(args: &[&str]) -> Output {
    let kit = Kit::get();
    finish(
        spawn_command(
            Command::new(&kit.boot).args(args).current_dir(&kit.root),
            "lind-boot",
        ),
        &format!("lind-boot {}", args.join(" ")),
    )
}
