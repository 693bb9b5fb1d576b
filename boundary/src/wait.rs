//! Linux-style wait status, as RawPOSIX's waitpid encodes it (docs/lind-3i.md §7.5).

/// `waitpid` option: return 0 at once when no child has exited.
pub const WNOHANG: i32 = 1;

/// The status of a child that exited with `code` (`code << 8`).
pub const fn exited(code: i32) -> i32 {
    (code & 0xff) << 8
}

/// The status of a child killed by signal `sig`.
pub const fn signaled(sig: i32) -> i32 {
    sig & 0x7f
}

/// `WIFEXITED`.
pub const fn wifexited(status: i32) -> bool {
    status & 0x7f == 0
}

/// `WEXITSTATUS`.
pub const fn wexitstatus(status: i32) -> i32 {
    (status >> 8) & 0xff
}

/// `WIFSIGNALED`.
pub const fn wifsignaled(status: i32) -> bool {
    let sig = status & 0x7f;
    sig != 0 && sig != 0x7f
}

/// `WTERMSIG`.
pub const fn wtermsig(status: i32) -> i32 {
    status & 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_round_trips() {
        let st = exited(3);
        assert_eq!(st, 0x300);
        assert!(wifexited(st) && !wifsignaled(st));
        assert_eq!(wexitstatus(st), 3);
    }

    #[test]
    fn signal_status_is_not_an_exit() {
        let st = signaled(9);
        assert!(wifsignaled(st) && !wifexited(st));
        assert_eq!(wtermsig(st), 9);
    }
}
