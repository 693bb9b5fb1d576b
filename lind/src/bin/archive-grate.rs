//! `archive-grate` for Lind: the bundled grate that archives what a cage writes.
//!
//! `programs::grates::archive` is private for now, so the entry is taken from
//! the public list of bundled grates by name.
fn main() {
    let entry = programs::grates::entries()
        .into_iter()
        .find(|entry| entry.name == "archive-grate")
        .expect("tee-programs bundles archive-grate");
    lind::run(entry)
}
