//! `archive-grate` for Lind: the bundled grate that archives what a cage writes.
fn main() {
    lind::run(programs::grates::archive::entry())
}
