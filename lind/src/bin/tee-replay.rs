//! `tee-replay` for Lind: re-issues a recorded trace into a grate stack.
fn main() {
    lind::run(replay::program_entry())
}
