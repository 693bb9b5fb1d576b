//! `lind-host PROGRAM [ARGS...]`: runs a bundled program on the in-process
//! host runtime with no tee, as `lind-wasm program.cwasm` runs it on Lind.
//! The baseline that tee-grate runs are compared with.

fn main() -> std::process::ExitCode {
    tee::native::run_program()
}
