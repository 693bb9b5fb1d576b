//! The 3i boundary: the one interface a grate is written against.
//!
//! Lind runs every program in a *cage*; each cage's syscalls go through 3i, a
//! per-cage table of handlers. A *grate* registers handlers for other cages'
//! calls. Everything in this workspace that acts as a grate (the tee, the
//! replayer, the bundled grates) talks to 3i only through [`ThreeI`], so the
//! same code runs on the in-process host runtime (`tee-host`, used by every
//! test) and on real Lind (the `lind/` adapter crate).
//!
//! # Brief overview
//! - [`CageId`], [`Arg`], [`Args`]: typed call values. A handler receives its
//!   own grate id plus six `(value, argcage)` pairs, exactly as on Lind.
//! - [`ThreeI`]: `make_threei_call`, own-memory access, and the process steps
//!   a grate takes (fork, exec, exit, start a child once handlers are set).
//!   Provided methods pack `register_handler` (1001), `copy_data_between_cages`
//!   (1002) and `copy_handler_table_to_cage` (1003) the way Lind's glibc does.
//! - [`Program`]: what a cage runs after exec; a grate's `handle` plays the
//!   role of Lind's `pass_fptr_to_wt` export.
//! - [`registration`]: the unusual argument packing of call 1001.
//! - [`nr`], [`errno`], [`consts`]: numbers shared with Lind.
//! - [`stat`], [`dirent`], [`wait`]: Lind's struct layouts and status
//!   encoding (104-byte StatData, linux_dirent64, Linux wait status).
//! - [`clock`]: time read through 3i, and a wait that needs no clock
//!   (Rust std's clocks do not link on Lind).
//! - [`guest`]: a small libc over [`ThreeI`] that places arguments in the
//!   caller's own memory, as Lind's glibc does.
//!
//! # Does not do
//! - It holds no runtime and no kernel: those are `tee-host` and Lind.
//! - It never dereferences a foreign address: foreign bytes are reached only
//!   through `copy_data_between_cages`, as a wasm grate must.

mod args;
pub mod clock;
pub mod consts;
pub use abi::dirent;
pub mod errno;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
pub mod guest;
pub mod guest_file;
pub mod iovec;
pub mod nr;
pub mod patient;
mod program;
pub mod registration;
pub mod tool_file;
pub use abi::stat;
mod threei;
pub mod wait;

pub use args::{args_of, Arg, Args, CageId};
pub use dirent::DirEntry;
pub use errno::Errno;
pub use guest::{Guest, OwnBuf};
pub use program::{Program, ProgramEntry};
pub use stat::Stat;
pub use threei::{ChildMain, ChildSetup, CopyKind, ThreadBody, ThreadJoin, ThreeI};
