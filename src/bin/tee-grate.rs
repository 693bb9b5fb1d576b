//! `tee-grate` on the in-process host runtime.

fn main() -> std::process::ExitCode {
    tee::native::main("tee-grate")
}
