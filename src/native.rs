//! The native binaries' entry: run a program on the in-process host runtime
//! with every bundled program available, as Lind runs `.cwasm` files.

use boundary::ProgramEntry;
use std::process::ExitCode;

/// Every program a native run can exec: the bundled apps and grates, the
/// tee and the replayer.
pub fn programs() -> Vec<ProgramEntry> {
    let mut all = programs::bundled();
    all.push(crate::program_entry());
    all.push(replay::program_entry());
    all
}

/// Runs the program named by this process's first argument as cage 1
/// (`lind-host demo-files`), with no tee.
pub fn run_program() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match argv.first().map(String::as_str) {
        None | Some("--help" | "-h") => {
            eprintln!("usage: lind-host PROGRAM [ARGS...]   (--list-programs lists them)");
            ExitCode::from(abi::exit::FAILED)
        }
        Some("--list-programs") => {
            list_programs();
            ExitCode::SUCCESS
        }
        Some(_) => host::run_main(programs(), &argv),
    }
}

fn list_programs() {
    for entry in programs() {
        println!("{:<20} {}", entry.name, entry.summary);
    }
}

/// Runs `name` with this process's arguments as cage 1. `--list-programs`
/// lists what cages can exec instead.
pub fn main(name: &str) -> ExitCode {
    replay::progress::use_meter(tee_log::meter::replay_meter);
    let mut argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--list-programs") {
        list_programs();
        return ExitCode::SUCCESS;
    }
    // Programs are found by name, as an argv chain names them.
    match argv.first_mut() {
        Some(first) => *first = name.to_string(),
        None => argv.push(name.to_string()),
    }
    host::run_main(programs(), &argv)
}
