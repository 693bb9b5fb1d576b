//! `hello`: the smallest smoke test.

use super::Outcome;
use boundary::Guest;

pub(super) fn run(guest: &Guest<'_>, _argv: &[String]) -> Outcome {
    guest.print(&format!("hello from cage {}\n", guest.cage_id()));
    Ok(())
}
