//! `strace-grate [--log FILE] APP [ARGS...]`: logs every call it sees.
//!
//! One line per call, `[cage C] name(args...) = ret`, written with the
//! grate's own write syscall, to FILE or to fd 2. That own write on every
//! call is the point: it shows a tee above never recurses on a grate's own
//! I/O (that I/O goes down the grate's own table, docs/lind-3i.md §8 item 2).

use crate::kit::{forward, lock, read_path, split_options, Grate};
use crate::syscalls::{info, shapes, ArgShape, FILE_FD_PROC};
use boundary::consts::open_flags::{O_CREAT, O_TRUNC, O_WRONLY};
use boundary::{nr, Arg, Args, CageId, Errno, Guest, ThreeI};
use std::sync::Mutex;

pub const USAGE: &str = "strace-grate [--log FILE] APP [ARGS...]";

/// Where lines go when no --log is given.
const STDERR: i32 = 2;

/// The logging grate.
#[derive(Default)]
pub struct Strace {
    /// The log fd in the grate's own table; `None` until configured (then
    /// stderr unless --log). The lock also keeps lines whole.
    log: Mutex<Option<i32>>,
}

impl Strace {
    fn write_line(&self, rt: &dyn ThreeI, line: &str) {
        let log = lock(&self.log);
        // A failing log write must not fail the traced call.
        let _ = Guest::new(rt).write_all(log.unwrap_or(STDERR), line.as_bytes());
    }
}

impl Grate for Strace {
    fn usage(&self) -> &'static str {
        USAGE
    }

    fn configure(&self, rt: &dyn ThreeI, args: &[String]) -> Result<Vec<String>, String> {
        let (options, app) = split_options(args, &["--log"])?;
        let mut fd = STDERR;
        for (name, value) in options {
            match (name.as_str(), value) {
                ("--log", Some(file)) => {
                    fd = Guest::new(rt)
                        .open(&file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                        .map_err(|errno| format!("cannot open log {file}: {errno}"))?;
                }
                (other, _) => return Err(format!("unknown option {other}")),
            }
        }
        *lock(&self.log) = Some(fd);
        Ok(app)
    }

    fn syscalls(&self) -> Vec<u32> {
        FILE_FD_PROC.to_vec()
    }

    fn handle(&self, rt: &dyn ThreeI, nr: u32, caller: CageId, args: &Args) -> i32 {
        // Inputs are read before forwarding: a path is gone once a rename
        // or an exec has run.
        let call = describe(rt, nr, args);
        if matches!(nr, nr::EXIT | nr::EXIT_GROUP) {
            // These do not come back to report a result.
            self.write_line(rt, &format!("[cage {caller}] {call} = ?\n"));
            return forward(rt, nr, args);
        }
        let ret = forward(rt, nr, args);
        self.write_line(rt, &format!("[cage {caller}] {call} = {}\n", show_ret(ret)));
        ret
    }

    fn teardown(&self, rt: &dyn ThreeI) -> Result<(), String> {
        match lock(&self.log).take() {
            Some(fd) if fd != STDERR => Guest::new(rt)
                .close(fd)
                .map_err(|errno| format!("closing the log: {errno}")),
            _ => Ok(()),
        }
    }
}

/// `name(arg, ...)` for a call, with paths read from the caller's memory.
pub fn describe(rt: &dyn ThreeI, nr: u32, args: &Args) -> String {
    let shown: Vec<String> = match info(nr) {
        Some(row) => shapes(row)
            .zip(args)
            // An exit's second argument is the caller's tid, which the
            // runtime adds (docs/lind-3i.md §7.4): the program passed only
            // its status.
            .take(if matches!(nr, nr::EXIT | nr::EXIT_GROUP) {
                1
            } else {
                6
            })
            .map(|(shape, &arg)| show_arg(rt, shape, arg))
            .collect(),
        None => args.iter().map(|a| format!("{:#x}", a.value)).collect(),
    };
    format!("{}({})", crate::syscalls::name(nr), shown.join(", "))
}

fn show_arg(rt: &dyn ThreeI, shape: ArgShape, arg: Arg) -> String {
    match shape {
        ArgShape::Int => arg.as_i32().to_string(),
        ArgShape::Long => (arg.value as i64).to_string(),
        ArgShape::Mode => format!("{:#o}", arg.value as u32),
        ArgShape::Ptr => format!("{:#x}", arg.value),
        ArgShape::Path => match read_path(rt, arg) {
            Ok(path) => format!("{path:?}"),
            Err(_) => format!("{:#x}", arg.value),
        },
    }
}

/// A result, with its errno name when it is one.
pub fn show_ret(ret: i32) -> String {
    match Errno::from_ret(ret) {
        Some(errno) => format!("{ret} {errno}"),
        None => ret.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_show_errno_names() {
        assert_eq!(show_ret(3), "3");
        assert_eq!(show_ret(-2), "-2 ENOENT");
        assert_eq!(show_ret(boundary::consts::GRATE_ERR), "-536805379");
    }
}
