//! Times for people: strace's -t/-tt/-ttt/-r stamps and -T durations, and
//! the header's creation date. Wall times are UTC: a log does not know the
//! recording machine's time zone.

/// Which stamp leads each line, as strace's options choose it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// `-t`: time of day, `15:04:05`.
    Clock,
    /// `-tt`: time of day with microseconds, `15:04:05.000123`.
    ClockMicros,
    /// `-ttt`: seconds since the epoch with microseconds.
    Epoch,
    /// `-r`: seconds since the previous line's start.
    Relative,
}

impl Stamp {
    /// The stamp `-t` given `count` times (0: none), or `-r`.
    pub fn from_flags(t_count: u8, relative: bool) -> Option<Stamp> {
        match (t_count, relative) {
            (_, true) => Some(Stamp::Relative),
            (0, false) => None,
            (1, false) => Some(Stamp::Clock),
            (2, false) => Some(Stamp::ClockMicros),
            _ => Some(Stamp::Epoch),
        }
    }
}

/// Stamps lines in order; `-r` needs the previous line's start.
pub struct Stamper {
    stamp: Stamp,
    created_unix_ms: u64,
    previous_us: Option<u64>,
}

impl Stamper {
    pub fn new(stamp: Stamp, created_unix_ms: u64) -> Stamper {
        Stamper {
            stamp,
            created_unix_ms,
            previous_us: None,
        }
    }

    /// The stamp, with its trailing space, for a line whose event began
    /// `started_us` after the log's creation.
    pub fn stamp(&mut self, started_us: u64) -> String {
        let wall_us = self
            .created_unix_ms
            .saturating_mul(1_000)
            .saturating_add(started_us);
        let day_us = wall_us % (86_400 * 1_000_000);
        let (h, m, s) = (
            day_us / 3_600_000_000,
            day_us / 60_000_000 % 60,
            day_us / 1_000_000 % 60,
        );
        match self.stamp {
            Stamp::Clock => format!("{h:02}:{m:02}:{s:02} "),
            Stamp::ClockMicros => format!("{h:02}:{m:02}:{s:02}.{:06} ", day_us % 1_000_000),
            Stamp::Epoch => format!("{}.{:06} ", wall_us / 1_000_000, wall_us % 1_000_000),
            Stamp::Relative => {
                // Records from several threads may start out of order.
                let since = self.previous_us.map_or(0, |p| started_us.saturating_sub(p));
                self.previous_us = Some(started_us);
                format!("{:>6}.{:06} ", since / 1_000_000, since % 1_000_000)
            }
        }
    }
}

pub use render::seconds;

/// `ms` since the epoch as an ISO 8601 UTC time.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Hinnant's
/// algorithm, restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn stamps_read_like_strace() {
        // 2023-11-14T22:13:20Z, then 1.5 s and 12 µs later.
        let created = 1_700_000_000_000;
        let at = 1_500_012;
        assert_eq!(Stamper::new(Stamp::Clock, created).stamp(at), "22:13:21 ");
        assert_eq!(
            Stamper::new(Stamp::ClockMicros, created).stamp(at),
            "22:13:21.500012 "
        );
        assert_eq!(
            Stamper::new(Stamp::Epoch, created).stamp(at),
            "1700000001.500012 "
        );
        let mut relative = Stamper::new(Stamp::Relative, created);
        assert_eq!(relative.stamp(at), "     0.000000 ");
        assert_eq!(relative.stamp(at + 250), "     0.000250 ");
        assert_eq!(relative.stamp(at), "     0.000000 ");
    }

    #[test]
    fn flags_choose_the_stamp() {
        assert_eq!(Stamp::from_flags(0, false), None);
        assert_eq!(Stamp::from_flags(1, false), Some(Stamp::Clock));
        assert_eq!(Stamp::from_flags(2, false), Some(Stamp::ClockMicros));
        assert_eq!(Stamp::from_flags(3, false), Some(Stamp::Epoch));
        assert_eq!(Stamp::from_flags(0, true), Some(Stamp::Relative));
    }
}
