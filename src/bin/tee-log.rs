//! `tee-log`: the log tools, which live in `tools/` (package `tee-log`).
//! The binary is built here so the tee's tests run it as a user does.

fn main() -> std::process::ExitCode {
    tee_log::main()
}
