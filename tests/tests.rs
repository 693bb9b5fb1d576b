//! End-to-end tests: the binaries run as a user runs them, on the host
//! runtime, in scratch directories. One module per topic.

/// Spawning binaries and comparing directory trees.
mod util;

/// Every list of calls agrees with the catalog.
mod abi;
/// Command-line errors of tee-grate and tee-replay.
mod cli;
/// Logs made by hand.
mod craft;
/// Random hostile logs through every command, under time and memory limits.
mod fuzz_tools;
/// tee-log's output on every fixture, kept byte for byte.
mod golden;
/// Logs crafted as an attacker would, against every tool.
mod hostile;
/// The live tee with grate stacks.
mod live;
/// `tee-log` on written and damaged logs.
mod log_cli;
/// Progress bars on a terminal, none in pipes.
mod progress;
/// `tee-grate --record`.
mod record;
/// `tee-log reduce`: delta debugging of a log.
mod reduce;
/// tee-replay into stacks and directories.
mod replay;
/// `tee-log repro`: a C reproducer, built with cc.
mod repro;
/// Cages killed by signals, and a tee killed mid-run.
mod signals;
/// A secondary that blocks or lags.
mod stall;
/// `tee-log timeline`: Trace Event Format and SVG.
mod timeline;
