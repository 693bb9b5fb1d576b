//! Integration tests of the host runtime: one test per 3i rule it imitates
//! (docs/lind-3i.md), named after the rule, and kernel tests on real files.

#[macro_use]
mod util;

/// The bundled apps and grates, alone and under each grate.
mod bundled_programs;
mod cages;
mod chain;
mod concurrency;
mod kernel_dirs;
mod kernel_fds;
mod kernel_files;
mod memory;
mod smoke;
mod stops;
mod tables;
mod targets;
