//! The exit codes of `tee-grate`, `tee-replay` and `tee-log`: one scheme
//! for the three tools, so a script reads any of them the same way. The
//! README's "Exit codes" table describes these constants.

/// Done, and nothing was found.
pub const DONE: u8 = 0;

/// Something was found: a replay diverged (or `--into-dir` left a file
/// incomplete), two logs differ, a log ends torn or without its trailer
/// (every complete frame intact).
pub const FOUND: u8 = 1;

/// The tool's own failure: a usage error, a file it cannot open, make or
/// read, a log version it does not know, a stack that does not come up.
/// `tee-grate` gives it too; any other status it exits with is the app's.
pub const FAILED: u8 = 2;

/// The log is damaged: `verify` found corruption, or a command that does
/// not read past damage (a replay without `--salvage`, `diff`) met it.
pub const DAMAGED: u8 = 3;
