//! An exec's arguments rebuilt in the caller's own memory: a path, and argv
//! and envp as NULL-terminated arrays of host string pointers (docs/lind-3i.md §9.3).
//! Used to show a stack an exec it must see but that must not happen.

use boundary::guest::OwnBuf;
use boundary::{Arg, Args, CageId, ThreeI};

/// The buffers and the six arguments of one staged exec.
pub struct StagedExec<'a> {
    pub args: Args,
    _buffers: Vec<OwnBuf<'a>>,
}

/// Stages `execve(path, argv, {})` in `rt`'s own memory, unused slots naming
/// `caller`.
pub fn stage_exec<'a>(
    rt: &'a dyn ThreeI,
    caller: CageId,
    path: &[u8],
    argv: &[Vec<u8>],
) -> StagedExec<'a> {
    let mut buffers: Vec<OwnBuf<'a>> = argv.iter().map(|a| OwnBuf::cstr(rt, a)).collect();
    let mut pointers: Vec<u8> = buffers
        .iter()
        .flat_map(|s| rt.host_addr(s.addr()).to_le_bytes())
        .collect();
    pointers.extend_from_slice(&0u64.to_le_bytes());
    let path_buf = OwnBuf::cstr(rt, path);
    let argv_buf = OwnBuf::from_bytes(rt, &pointers);
    let envp_buf = OwnBuf::from_bytes(rt, &0u64.to_le_bytes());
    let mut args = Arg::all_unused(caller);
    args[0] = path_buf.arg();
    args[1] = argv_buf.arg();
    args[2] = envp_buf.arg();
    buffers.extend([path_buf, argv_buf, envp_buf]);
    StagedExec {
        args,
        _buffers: buffers,
    }
}
