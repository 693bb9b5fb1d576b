//! Replaying recorded syscalls into grate stacks, and the pieces the live
//! tee shares with replay.
//!
//! # Brief overview
//! - [`floor`]: answers what a stack sends down on a caller's behalf from a
//!   known result, so nothing reaches the real system twice.
//! - [`capture`]: copies a call's buffers out of a cage and back in, as the
//!   formats crate's catalog names them.
//! - [`fdpair`]: pairs fds across two stacks (the tee's primary and
//!   secondary; a recording and its replay).

#![forbid(unsafe_code)]

pub mod capture;
pub mod cli;
pub mod compare;
pub mod driver;
pub mod engine;
pub mod exec_args;
pub mod fdpair;
pub mod floor;
// Plain host files: std::fs does not work in a Lind grate (LIND-3I §15).
#[cfg(unix)]
pub mod into_dir;
pub mod keys;
mod program;
mod progress;
pub mod report;
pub mod schedule;
pub mod step;

pub use program::{program_entry, TeeReplay};
