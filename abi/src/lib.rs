/*!
The Lind ABI as this project relies on it, written once and read by every
crate: the syscall catalog (numbers, names, argument kinds, result kinds,
fd effects, and the calls RawPOSIX implements), errno names and messages,
the limits every part applies alike, and the tools' exit codes.
Dependency-free, so that even the crates that depend on nothing else of
the workspace read it.

The facts behind it are in `docs/lind-3i.md`.
*/

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod catalog;
pub mod dirent;
pub mod errno;
pub mod exit;
pub mod flags;
pub mod limits;
pub mod sockaddr;
pub mod stat;
pub mod sync;
