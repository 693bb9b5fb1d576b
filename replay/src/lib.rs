//! Replaying recorded syscalls into grate stacks (the pieces it shares with
//! the live tee are in `interpose`).
//!
//! # Brief overview
//! - [`engine`]: hands each driver its next recorded step in sequence
//!   order ([`schedule`]), sets the floor's expectations and judges what
//!   the stack returned; [`driver`] is the cage at the bottom of the
//!   replayed stack that issues each step.
//! - [`into_dir`]: rebuilds the files a log wrote, with no stack.
//! - [`compare`]: a differential replay's comparison of several stacks.
//! - [`report`]: the divergence report, text and JSON; [`cli`]: the
//!   command line.

#![forbid(unsafe_code)]

pub mod cli;
pub mod compare;
pub mod driver;
pub mod engine;
pub mod error;
// Plain host files: std::fs does not work in a Lind grate (docs/lind-3i.md §15).
#[cfg(unix)]
pub mod into_dir;
mod program;
pub mod progress;
pub mod report;
pub mod schedule;
pub mod step;

pub use program::{program_entry, TeeReplay};
