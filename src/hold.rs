//! Hold cages: where each block's grate chain ends.
//!
//! A block's last grate registers its handlers on its child and execs the
//! rest of its argv there; the tee makes that rest `tee-grate --hold ROLE`, a
//! tiny real program. Its table is the block's whole stack, so the tee sends
//! calls "through the block" by issuing them with `self` = the hold cage. The
//! hold blocks on a private call the tee answers at shutdown, then exits like
//! any program, and the grates above it tear down as after a real run (Lind's
//! earlier tee parked such cages inside an exec handler and could not end
//! them, docs/lind-3i.md §8). The primary hold also starts the app as its
//! own child, so the primary stack sees the app's fork as it would without a
//! tee.

use crate::state::TeeState;
use boundary::guest::Guest;
use boundary::{Args, CageId, Errno, ThreeI};
use interpose::keys::{HOLD_ADOPT, HOLD_APP_EXITED, HOLD_CHECKIN, START_APP};

/// The argv word that selects the hold role.
pub const HOLD_FLAG: &str = "--hold";

/// Which block a hold ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    Primary = 0,
    Secondary = 1,
}

/// The words that end a block's argv chain: `self_name --hold ROLE [-- APP…]`.
pub fn hold_argv(self_name: &str, block: Block, app: &[String]) -> Vec<String> {
    let mut argv = vec![self_name.to_string(), HOLD_FLAG.to_string()];
    match block {
        Block::Primary => {
            argv.push("primary".into());
            argv.push("--".into());
            argv.extend(app.iter().cloned());
        }
        Block::Secondary => argv.push("secondary".into()),
    }
    argv
}

/// The hold role's main.
pub fn hold_main(rt: &dyn ThreeI, argv: &[String]) -> i32 {
    let guest = Guest::new(rt);
    match argv.get(2).map(String::as_str) {
        Some("secondary") => {
            guest.syscall(HOLD_CHECKIN, &[Block::Secondary as u64]);
            0
        }
        Some("primary") => {
            let app = argv.get(4..).unwrap_or_default();
            if guest.syscall(HOLD_CHECKIN, &[Block::Primary as u64]) == START_APP {
                run_app(rt, &guest, app);
                guest.syscall(HOLD_CHECKIN, &[Block::Primary as u64]);
            }
            0
        }
        _ => {
            guest.eprint("tee-grate: --hold is internal: it ends a block's grate chain\n");
            i32::from(abi::exit::FAILED)
        }
    }
}

fn run_app(rt: &dyn ThreeI, guest: &Guest<'_>, app: &[String]) {
    let mut adopt = |child: CageId| match guest.syscall(HOLD_ADOPT, &[child.0]) {
        0 => Ok(()),
        err => Err(Errno::from_ret(err).unwrap_or(Errno::EIO)),
    };
    let status = match rt.spawn_child(app, &mut adopt) {
        Ok(child) => guest.wait_child(child).map(|status| (child, status)),
        Err(errno) => Err(errno),
    };
    let (child, status) = match status {
        Ok(reaped) => reaped,
        Err(errno) => {
            guest.eprint(&format!(
                "tee-grate: cannot start {}: {errno}\n",
                app.join(" ")
            ));
            (CageId(0), 127 << 8)
        }
    };
    guest.syscall(HOLD_APP_EXITED, &[child.0, status as u32 as u64]);
}

impl TeeState {
    /// Handles a hold cage's private call.
    pub fn on_private(&self, rt: &dyn ThreeI, nr: u32, args: &Args) -> i32 {
        let from = args[0].owner();
        match nr {
            HOLD_CHECKIN => self.checkin(rt, from, args[0].value == Block::Secondary as u64),
            HOLD_ADOPT => match self.adopt(rt, from, CageId(args[0].value)) {
                Ok(()) => 0,
                Err(errno) => errno.ret(),
            },
            HOLD_APP_EXITED => {
                let (child, status) = (CageId(args[0].value), args[1].value as i32);
                self.ended_unseen(child, Some(status));
                self.update_life(|life| life.app_status = Some(status));
                0
            }
            _ => Errno::ENOSYS.ret(),
        }
    }

    fn checkin(&self, rt: &dyn ThreeI, hold: CageId, secondary: bool) -> i32 {
        let first = if secondary {
            self.check_in_secondary(rt, hold)
        } else {
            self.set_primary_hold(hold)
        };
        let never = std::time::Duration::from_secs(3600);
        if !secondary && first {
            self.wait_life(never, |life| life.start_app || life.shutdown, || true);
            if !self.life().shutdown {
                return START_APP;
            }
        }
        self.wait_life(never, |life| life.shutdown, || true);
        0
    }
}
