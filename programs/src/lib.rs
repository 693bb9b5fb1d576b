//! Bundled programs: small apps and grates written against the 3i boundary.
//!
//! Tests and the README's examples run these in the host runtime (and the
//! grates are meant to build for real Lind too), so everything here uses only
//! [`boundary`]: apps do their work through [`boundary::Guest`], and grates
//! receive calls through [`boundary::Program::handle`] and forward them with
//! `make_call`.
//!
//! # Brief overview
//! - [`bundled`]: every program by name, as an argv chain finds it.
//! - Apps ([`apps`]): `hello`, `demo-files`, `demo-child`, `demo-writes`,
//!   `demo-threads`, `demo-fdcheck`: deterministic workloads that check their
//!   own results and exit non-zero with a message when a check fails.
//! - Grates ([`grates`]): `passthrough-grate`, `imfs-grate`,
//!   `archive-grate`, `strace-grate`, `faulty-grate`, all built on
//!   [`kit::Grate`], which does what every grate must: launch the child with
//!   its handlers registered, track every cage routed through the grate, and
//!   outlive all of them (docs/lind-3i.md §7.2, §13 item 10).
//!
//! # Does not do
//! - No unsafe code and no host I/O: a grate's own files go through its own
//!   guest libc, down its own table, as a Lind grate's libc calls do.
//! - No signals: a cage killed by a signal is found only by the kit's
//!   liveness probe, since Lind reports no such death to grates (docs/lind-3i.md §7.5).

#![forbid(unsafe_code)]

pub mod apps;
pub mod grates;
pub mod kit;
pub mod paths;
pub mod syscalls;

use boundary::ProgramEntry;

/// Every bundled program: apps first, then grates.
pub fn bundled() -> Vec<ProgramEntry> {
    let mut all = apps::entries();
    all.extend(grates::entries());
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_names_are_unique_and_summarised() {
        let all = bundled();
        let mut names: Vec<&str> = all.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(all.iter().all(|e| !e.summary.is_empty()));
        assert!(names.contains(&"imfs-grate") && names.contains(&"demo-files"));
    }
}
