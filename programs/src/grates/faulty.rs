//! `faulty-grate MODE[,MODE...] [--calls NAMES] [--after N] APP [ARGS...]`:
//! injects the faults named on its command line into the listed calls,
//! after letting the first N of them through.
//!
//! Modes: `errno=NAME` (answer -NAME without forwarding), `short-write` /
//! `short-read` (forward write/pwrite or read/pread with half the length,
//! at least 1 byte, and return that result), `garbage` (forward, then fill
//! the output the call produced with 0xA5), `panic` (the handler panics;
//! the runtime answers GRATE_ERR), `passthrough` (no fault), `quit` (exit
//! right after starting the child), `slow-start` (wait a while before
//! starting the child, as a grate takes to come up on Lind), `kill-caller`
//! (kill the calling cage with SIGKILL, as a signal's default action ends
//! a cage without an exit call, and answer -EINTR), `block` (never return:
//! a secondary stuck for good), `sleep=MS` (wait MS milliseconds, then
//! forward: a secondary slower than the app). When several modes apply to
//! a call, the first listed wins.

use crate::kit::{forward, read_iovecs, scatter, split_options, write_out, Grate};
use crate::syscalls::{by_name, name};
use abi::flags::signal::SIGKILL;
use boundary::consts::STAT_SIZE;
use boundary::{nr, Args, CageId, Errno, ThreeI};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub const USAGE: &str = "faulty-grate MODE[,MODE...] [--calls NAMES] [--after N] APP [ARGS...]\n  \
     MODE: errno=NAME | short-write | short-read | garbage | panic | passthrough | quit | \
     slow-start | kill-caller | block | sleep=MS";

/// How long `slow-start` waits before starting the child: longer than the
/// engines' polling period, as a grate's start on Lind is.
const SLOW_START: std::time::Duration = std::time::Duration::from_millis(200);

/// The calls faulted when no --calls is given.
const DEFAULT_CALLS: &[u32] = &[
    nr::READ,
    nr::WRITE,
    nr::PREAD,
    nr::PWRITE,
    nr::OPEN,
    nr::OPENAT,
    nr::CLOSE,
    nr::FSTAT,
    nr::STAT,
    nr::LSEEK,
];

/// The byte `garbage` fills outputs with.
const GARBAGE: u8 = 0xA5;

/// One fault mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Errno(Errno),
    ShortWrite,
    ShortRead,
    Garbage,
    Panic,
    Passthrough,
    /// The grate exits right after starting its child.
    Quit,
    /// The grate waits before starting its child.
    SlowStart,
    /// The caller is killed by SIGKILL.
    KillCaller,
    /// The handler never returns.
    Block,
    /// The handler waits this many milliseconds, then forwards.
    Sleep(u64),
}

/// How often a blocked handler looks up: a call into the runtime, where a
/// kill of the grate takes effect.
const BLOCK_TICK: std::time::Duration = std::time::Duration::from_millis(50);

impl Fault {
    /// Whether this mode changes `nr`.
    fn applies_to(self, nr: u32) -> bool {
        match self {
            Fault::Errno(_) | Fault::Panic | Fault::KillCaller | Fault::Block | Fault::Sleep(_) => {
                true
            }
            Fault::ShortWrite => matches!(nr, nr::WRITE | nr::PWRITE),
            Fault::ShortRead => matches!(nr, nr::READ | nr::PREAD),
            Fault::Garbage => matches!(
                nr,
                nr::READ
                    | nr::PREAD
                    | nr::READV
                    | nr::STAT
                    | nr::FSTAT
                    | nr::LSTAT
                    | nr::NEWFSTATAT
                    | nr::GETDENTS
                    | nr::GETDENTS64
            ),
            Fault::Passthrough | Fault::Quit | Fault::SlowStart => false,
        }
    }
}

/// What to inject, where, and after how many calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultPlan {
    pub modes: Vec<Fault>,
    pub calls: BTreeSet<u32>,
    pub after: u64,
}

/// Parses `MODE[,MODE...]`.
pub fn parse_modes(list: &str) -> Result<Vec<Fault>, String> {
    list.split(',')
        .map(|mode| match mode {
            "short-write" => Ok(Fault::ShortWrite),
            "short-read" => Ok(Fault::ShortRead),
            "garbage" => Ok(Fault::Garbage),
            "panic" => Ok(Fault::Panic),
            "passthrough" => Ok(Fault::Passthrough),
            "quit" => Ok(Fault::Quit),
            "slow-start" => Ok(Fault::SlowStart),
            "kill-caller" => Ok(Fault::KillCaller),
            "block" => Ok(Fault::Block),
            _ if mode.starts_with("sleep=") => mode["sleep=".len()..]
                .parse()
                .map(Fault::Sleep)
                .map_err(|_| format!("sleep= wants milliseconds, not {mode:?}")),
            _ => match mode.strip_prefix("errno=") {
                Some(name) => errno_by_name(name)
                    .map(Fault::Errno)
                    .ok_or_else(|| format!("unknown errno {name:?}")),
                None => Err(format!("unknown mode {mode:?}")),
            },
        })
        .collect()
}

/// An errno by C name (`EIO`) or number (`5`).
pub fn errno_by_name(name: &str) -> Option<Errno> {
    if let Ok(number) = name.parse::<i32>() {
        return Errno::new(number);
    }
    (1..256)
        .filter_map(Errno::new)
        .find(|e| e.name() == Some(name))
}

/// Parses the grate's arguments into a plan and the app's argv.
pub fn parse_args(args: &[String]) -> Result<(FaultPlan, Vec<String>), String> {
    let modes = parse_modes(args.first().ok_or("missing MODE")?)?;
    let (options, app) = split_options(&args[1..], &["--calls", "--after"])?;
    let mut plan = FaultPlan {
        modes,
        calls: DEFAULT_CALLS.iter().copied().collect(),
        after: 0,
    };
    for (option, value) in options {
        let value = value.unwrap_or_default();
        match option.as_str() {
            "--calls" => plan.calls = parse_calls(&value)?,
            "--after" => {
                plan.after = value
                    .parse()
                    .map_err(|_| format!("--after wants a count, not {value:?}"))?;
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok((plan, app))
}

/// `read,write,...` (names or numbers). CLONE and EXIT_GROUP belong to the
/// kit's cage tracking and cannot be faulted.
fn parse_calls(list: &str) -> Result<BTreeSet<u32>, String> {
    list.split(',')
        .map(|call| {
            let nr = by_name(call)
                .or_else(|| call.parse().ok())
                .ok_or_else(|| format!("unknown syscall {call:?}"))?;
            if matches!(nr, nr::CLONE | nr::EXIT_GROUP) {
                return Err(format!("{call} cannot be faulted"));
            }
            Ok(nr)
        })
        .collect()
}

/// `max(1, len / 2)` for a non-empty length: short, but still progress.
pub fn halved(len: u64) -> u64 {
    if len == 0 {
        0
    } else {
        (len / 2).max(1)
    }
}

/// The fault-injecting grate.
#[derive(Default)]
pub struct Faulty {
    plan: OnceLock<FaultPlan>,
    /// Matching calls seen so far, across all cages.
    seen: AtomicU64,
}

impl Grate for Faulty {
    fn usage(&self) -> &'static str {
        USAGE
    }

    fn configure(&self, _rt: &dyn ThreeI, args: &[String]) -> Result<Vec<String>, String> {
        let (plan, app) = parse_args(args)?;
        if plan.modes.contains(&Fault::SlowStart) {
            boundary::clock::pause(SLOW_START);
        }
        self.plan
            .set(plan)
            .map_err(|_| "configured twice".to_string())?;
        Ok(app)
    }

    fn syscalls(&self) -> Vec<u32> {
        self.plan
            .get()
            .map(|plan| plan.calls.iter().copied().collect())
            .unwrap_or_default()
    }

    fn quits_early(&self) -> bool {
        self.plan
            .get()
            .is_some_and(|p| p.modes.contains(&Fault::Quit))
    }

    fn handle(&self, rt: &dyn ThreeI, nr: u32, caller: CageId, args: &Args) -> i32 {
        let Some(plan) = self.plan.get() else {
            return forward(rt, nr, args);
        };
        if !plan.calls.contains(&nr) || self.seen.fetch_add(1, Ordering::SeqCst) < plan.after {
            return forward(rt, nr, args);
        }
        match plan.modes.iter().copied().find(|m| m.applies_to(nr)) {
            None | Some(Fault::Passthrough | Fault::Quit | Fault::SlowStart) => {
                forward(rt, nr, args)
            }
            Some(Fault::Errno(errno)) => errno.ret(),
            Some(Fault::KillCaller) => {
                let _ = boundary::Guest::new(rt).kill(caller.0 as i32, SIGKILL);
                Errno::EINTR.ret()
            }
            Some(Fault::Panic) => panic!("faulty-grate: injected panic in {}", name(nr)),
            Some(Fault::Block) => loop {
                boundary::clock::pause(BLOCK_TICK);
                let _ = boundary::Guest::new(rt).getpid();
            },
            Some(Fault::Sleep(ms)) => {
                boundary::clock::pause(std::time::Duration::from_millis(ms));
                forward(rt, nr, args)
            }
            Some(Fault::ShortWrite | Fault::ShortRead) => {
                let mut short = *args;
                short[2].value = halved(args[2].value);
                forward(rt, nr, &short)
            }
            Some(Fault::Garbage) => {
                let ret = forward(rt, nr, args);
                garble(rt, nr, args, ret);
                ret
            }
        }
    }
}

/// Overwrites what a successful call produced with [`GARBAGE`].
fn garble(rt: &dyn ThreeI, nr: u32, args: &Args, ret: i32) {
    let Ok(produced) = usize::try_from(ret) else {
        return;
    };
    // A bad buffer only means there is nothing to spoil.
    let _ = match nr {
        nr::READ | nr::PREAD | nr::GETDENTS | nr::GETDENTS64 => {
            write_out(rt, args[1], &vec![GARBAGE; produced])
        }
        nr::READV => read_iovecs(rt, args[1], args[2].value)
            .and_then(|iovs| scatter(rt, args[1], &iovs, &vec![GARBAGE; produced])),
        nr::STAT | nr::FSTAT | nr::LSTAT if ret == 0 => {
            write_out(rt, args[1], &[GARBAGE; STAT_SIZE])
        }
        nr::NEWFSTATAT if ret == 0 => write_out(rt, args[2], &[GARBAGE; STAT_SIZE]),
        _ => Ok(()),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn modes_parse_in_order() {
        assert_eq!(
            parse_modes("errno=EIO,short-write,garbage").unwrap(),
            vec![Fault::Errno(Errno::EIO), Fault::ShortWrite, Fault::Garbage]
        );
        assert_eq!(
            parse_modes("errno=28").unwrap(),
            vec![Fault::Errno(Errno::ENOSPC)]
        );
        assert!(parse_modes("errno=EWHAT").is_err());
        assert!(parse_modes("explode").is_err());
    }

    #[test]
    fn args_take_calls_and_after_before_the_app() {
        let (plan, app) = parse_args(&strings(&[
            "panic",
            "--calls",
            "write,pread64",
            "--after",
            "3",
            "hello",
        ]))
        .unwrap();
        assert_eq!(plan.modes, vec![Fault::Panic]);
        assert_eq!(plan.calls, [nr::WRITE, nr::PREAD].into_iter().collect());
        assert_eq!(plan.after, 3);
        assert_eq!(app, strings(&["hello"]));
    }

    #[test]
    fn defaults_and_bad_arguments() {
        let (plan, _) = parse_args(&strings(&["passthrough", "hello"])).unwrap();
        assert_eq!(plan.calls.len(), DEFAULT_CALLS.len());
        assert!(parse_args(&[]).is_err());
        assert!(parse_args(&strings(&["panic", "--calls", "clone", "x"])).is_err());
        assert!(parse_args(&strings(&["panic", "--after", "many", "x"])).is_err());
    }

    #[test]
    fn modes_apply_only_where_they_make_sense() {
        assert!(Fault::ShortWrite.applies_to(nr::PWRITE));
        assert!(!Fault::ShortWrite.applies_to(nr::READ));
        assert!(Fault::Garbage.applies_to(nr::FSTAT));
        assert!(!Fault::Garbage.applies_to(nr::WRITE));
        assert!(!Fault::Passthrough.applies_to(nr::READ));
        assert!(Fault::Errno(Errno::EIO).applies_to(nr::CLOSE));
    }

    #[test]
    fn halving_keeps_at_least_one_byte() {
        assert_eq!(
            (halved(0), halved(1), halved(3), halved(4096)),
            (0, 1, 1, 2048)
        );
    }
}
