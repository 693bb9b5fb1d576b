//! The interposition core the live tee and the replayer share: how a call
//! caught on one stack is carried to another and judged there.
//!
//! # Brief overview
//! - [`capture`]: copies a call's buffers out of a cage and back in, as the
//!   formats crate's catalog names them.
//! - [`staging`]: lays a call out in this cage's own memory (scratch for
//!   outputs, copies of inputs) so it can be issued to another stack.
//! - [`exec_args`]: the same for an execve's path and argv.
//! - [`floor`]: answers what a stack sends down on a caller's behalf from a
//!   known result, so nothing reaches the real system twice.
//! - [`fdpair`]: pairs fds across two stacks (the tee's primary and
//!   secondary; a recording and its replay).
//! - [`verdict`]: what a stack got wrong, against the result it should
//!   have given.
//! - [`keys`]: handler keys, and the one registry of private call numbers.

#![forbid(unsafe_code)]

pub mod capture;
pub mod exec_args;
pub mod fdpair;
pub mod floor;
pub mod keys;
pub mod staging;
pub mod verdict;

#[cfg(test)]
mod testing;
