//! `passthrough-grate APP [ARGS...]`: forwards every call unchanged. The
//! smallest grate; a baseline for overhead and for "a grate in the stack
//! changes nothing".

use crate::kit::{forward, split_options, Grate};
use crate::syscalls::FILE_FD_PROC;
use boundary::{Args, CageId, ThreeI};

pub const USAGE: &str = "passthrough-grate APP [ARGS...]";

/// The pass-through grate: no state, no options.
pub struct Passthrough;

impl Grate for Passthrough {
    fn usage(&self) -> &'static str {
        USAGE
    }

    fn configure(&self, _rt: &dyn ThreeI, args: &[String]) -> Result<Vec<String>, String> {
        let (options, app) = split_options(args, &[])?;
        match options.first() {
            Some((name, _)) => Err(format!("unknown option {name}")),
            None => Ok(app),
        }
    }

    fn syscalls(&self) -> Vec<u32> {
        FILE_FD_PROC.to_vec()
    }

    fn handle(&self, rt: &dyn ThreeI, nr: u32, _caller: CageId, args: &Args) -> i32 {
        forward(rt, nr, args)
    }
}
