//! The Lind adapter: runs a [`boundary::Program`] as a real Lind grate.
//!
//! The tee, the replayer and the bundled grates are written against
//! [`boundary::ThreeI`]. On the in-process host runtime that trait is
//! implemented by `tee-host`; here it is implemented over Lind's glibc and
//! the `grate-rs` library, so the same engines build for `wasm32-wasip1` and
//! run under `lind-wasm`.
//!
//! # Brief overview
//! - [`LindRt`]: `ThreeI` for the cage this module runs in. Calls go out
//!   through glibc's `make_threei_call` with `translate_errno = 0`; own
//!   memory is the Rust heap in the grate's linear memory.
//! - [`run_by_name()`]: the `main` of the one binary, `tee-lind`: picks the
//!   program by the name the module was started as (the build installs
//!   copies named `tee-grate.cwasm`, `tee-replay.cwasm`, ...), runs its
//!   `main` with the process arguments, and exits with the returned status.
//! - [`FdtablesPairs`]: the tee's primary-to-secondary fd pairs kept in
//!   Lind's fdtables, as Lind's Rust grates keep fd state.
//! - Handler dispatch: Lind reaches a grate's handler only through a
//!   function-table index, which grate-rs's `pass_fptr_to_wt` export calls
//!   with 13 `u64` arguments. [`boundary::ThreeI::handler_ptr`] therefore hands out
//!   one of a fixed pool of [`SLOT_COUNT`] monomorphised trampolines per
//!   engine handler key; each trampoline finds its key and calls the running
//!   program's `handle`.
//!
//! # Decisions
//! - All adapter state is global (statics behind `Mutex` / `OnceLock`):
//!   handlers run on Lind's worker instances, concurrently with `main` and
//!   with each other, and thread-locals are not reliable there.
//! - `unsafe` lives in one file, `ffi.rs`, whose module doc states the
//!   contract. No raw pointer leaves it.
//! - The engines do their own I/O through [`boundary::guest::Guest`], i.e.
//!   `make_threei_call` through their own table with arguments in own
//!   memory, exactly as glibc's wrappers do. They never use `std::fs`, which
//!   fails on Lind.
//!
//! # Does not do
//! - It holds no engine logic: the binaries only pick a `ProgramEntry`.
//! - It does not run natively: natively it only type-checks and unit-tests
//!   (the glibc symbols it needs exist only in Lind's sysroot).

mod argv;
mod ffi;
mod own;
mod pairs;
mod rt;
mod run;
mod slots;

pub use pairs::FdtablesPairs;
pub use rt::LindRt;
pub use run::{program_name, run, run_by_name, LIND_GRATES};
pub use slots::SLOT_COUNT;
