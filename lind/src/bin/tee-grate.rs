//! `tee-grate` for Lind: records a run, or tees it into a second grate stack.
fn main() {
    lind::run(tee::program_entry())
}
