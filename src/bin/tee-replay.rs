//! `tee-replay` on the in-process host runtime.

fn main() -> std::process::ExitCode {
    tee::native::main("tee-replay")
}
