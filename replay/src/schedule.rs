//! Which record each driver cage replays next.
//!
//! Records are replayed in recorded sequence order. Each recorded cage is
//! played by one driver cage; a driver asking for its next step waits until
//! the next record is its cage's, so drivers take turns as the recorded
//! cages did. Records no driver can play (a cage whose fork was not
//! recorded, a filtered call) are skipped and counted by reason.

use boundary::CageId;
pub use formats::Entry;
use formats::{ReadError, Record};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar};

/// The log's records in replay order: by sequence number (the order calls
/// were numbered in the tee), file order for ties, read as the replay goes
/// ([`formats::InSeqOrder`]), so memory does not grow with the log.
pub type Entries = Box<dyn Iterator<Item = Result<Entry, ReadError>> + Send>;

/// The records not yet handed out: the next ones, read ahead only as far
/// as a question needs, and the read error that ended the stream early.
pub struct Feed {
    stream: Entries,
    ahead: VecDeque<Entry>,
    failed: Option<ReadError>,
}

impl Default for Feed {
    fn default() -> Feed {
        Feed::new(Box::new(std::iter::empty()))
    }
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("ahead", &self.ahead.len())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Feed {
    /// A feed over `stream`.
    pub fn new(stream: Entries) -> Feed {
        Feed {
            stream,
            ahead: VecDeque::new(),
            failed: None,
        }
    }

    /// A feed over records already in replay order (tests, small logs).
    pub fn of(entries: Vec<Entry>) -> Feed {
        Feed::new(Box::new(entries.into_iter().map(Ok)))
    }

    /// Reads one more record into the look-ahead; false at the end.
    fn read_one(&mut self) -> bool {
        if self.failed.is_some() {
            return false;
        }
        match self.stream.next() {
            Some(Ok(entry)) => {
                self.ahead.push_back(entry);
                true
            }
            Some(Err(error)) => {
                self.failed = Some(error);
                false
            }
            None => false,
        }
    }

    /// The next record.
    pub fn peek(&mut self) -> Option<&Entry> {
        if self.ahead.is_empty() {
            self.read_one();
        }
        self.ahead.front()
    }

    /// Takes the next record.
    pub fn pop(&mut self) -> Option<Entry> {
        if self.ahead.is_empty() {
            self.read_one();
        }
        self.ahead.pop_front()
    }

    /// The first record from here on that `wanted` accepts, reading ahead
    /// up to it.
    pub fn find(&mut self, wanted: impl Fn(&Entry) -> bool) -> Option<&Entry> {
        let mut at = 0;
        loop {
            if at == self.ahead.len() && !self.read_one() {
                return None;
            }
            if wanted(&self.ahead[at]) {
                return self.ahead.get(at);
            }
            at += 1;
        }
    }

    /// The read error that ended the records early, once.
    pub fn take_failure(&mut self) -> Option<ReadError> {
        self.failed.take()
    }
}

/// The recorded cage a record belongs to (a fork belongs to its parent).
pub fn owner(record: &Record) -> Option<u64> {
    match record {
        Record::Syscall(r) => Some(r.cage),
        Record::Fork(r) => Some(r.parent),
        Record::Exec(r) => Some(r.cage),
        Record::Exit(r) => Some(r.cage),
        _ => None,
    }
}

/// Why a record was not replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    Gap,
    NotACall,
    AfterExit,
    ReusedCageId,
    AppStart,
    NeverForked,
    ThreadOrFailedLifecycle,
    AfterGap,
    NotInCatalog,
    ProcessCall,
    LifecycleAsCall,
    ThreeiCall,
    NulInPath,
    FilteredByCalls,
    FilteredByCages,
    FdNotOpen,
}

impl SkipReason {
    /// How the summary and the JSON report say it.
    pub fn text(self) -> &'static str {
        match self {
            SkipReason::Gap => "a gap: calls the tee did not record (--on-full drop)",
            SkipReason::NotACall => "not a call",
            SkipReason::AfterExit => "a record of a cage after its exit",
            SkipReason::ReusedCageId => "a fork of a cage id already in the log",
            SkipReason::AppStart => "the app's start (the driver plays the app)",
            SkipReason::NeverForked => "cage never forked in the log",
            SkipReason::ThreadOrFailedLifecycle => "thread or failed lifecycle event",
            SkipReason::AfterGap => "not compared: after a gap in the log",
            SkipReason::NotInCatalog => "call not in the catalog",
            SkipReason::ProcessCall => "process call (primary only)",
            SkipReason::LifecycleAsCall => {
                "a fork, exec or exit as a syscall record (never replayed)"
            }
            SkipReason::ThreeiCall => "3i's own call (never replayed)",
            SkipReason::NulInPath => "a path with a NUL byte inside (not a C string)",
            SkipReason::FilteredByCalls => "filtered by --calls",
            SkipReason::FilteredByCages => "filtered by --cages",
            SkipReason::FdNotOpen => "fd not open in the replay",
        }
    }
}

/// The turn-taking state, behind the replayer's lock.
#[derive(Debug, Default)]
pub struct Schedule {
    /// The records not yet handed out.
    feed: Feed,
    /// How many records have been handed out or skipped.
    next: usize,
    /// Recorded cage played by each driver.
    recorded_of: HashMap<CageId, u64>,
    /// Driver playing each recorded cage.
    driver_of: HashMap<u64, CageId>,
    /// Recorded cages whose driver is being forked.
    forking: HashSet<u64>,
    /// Drivers still running.
    live: HashSet<CageId>,
    /// Drivers that have asked for a step: their cages surely exist, so
    /// a probe of them cannot name a cage the runtime does not know yet.
    arrived: HashSet<CageId>,
    /// Recorded cages whose process exit has been replayed: nothing of
    /// theirs is played after it (Lind never reuses a cage id, so a log
    /// that shows one again was not recorded so).
    ended: HashSet<u64>,
    /// Skipped records by reason.
    skipped: HashMap<SkipReason, u64>,
    /// The condition each driver waits on for its turn, made the first
    /// time it waits; ringing one that is not waiting does nothing.
    bells: HashMap<CageId, Arc<Condvar>>,
}

impl Schedule {
    /// A schedule over `feed`.
    pub fn new(feed: Feed) -> Schedule {
        Schedule {
            feed,
            ..Schedule::default()
        }
    }

    /// Binds the first driver to the first cage the log shows working.
    pub fn bind_root(&mut self, driver: CageId) {
        let root = self
            .feed
            .find(|e| !matches!(e.record, Record::Fork(_)) && owner(&e.record).is_some())
            .and_then(|e| owner(&e.record))
            .unwrap_or(0);
        self.bind(driver, root);
    }

    /// Takes the next record to hand out.
    pub fn take(&mut self) -> Option<Entry> {
        let entry = self.feed.pop()?;
        self.next += 1;
        Some(entry)
    }

    /// How many records have been handed out or skipped.
    pub fn position(&self) -> usize {
        self.next
    }

    /// The next record to hand out, left in place.
    pub fn peek(&mut self) -> Option<&Entry> {
        self.feed.peek()
    }

    /// The read error that ended the records early, once.
    pub fn take_failure(&mut self) -> Option<ReadError> {
        self.feed.take_failure()
    }

    /// `driver` has asked for a step: its cage exists.
    pub fn arrive(&mut self, driver: CageId) {
        self.arrived.insert(driver);
    }

    /// The recorded cage `driver` plays, if it plays one yet.
    pub fn cage_of(&self, driver: CageId) -> Option<u64> {
        self.recorded_of.get(&driver).copied()
    }

    /// Whether no driver has been bound yet (the first one takes the root).
    pub fn unbound(&self) -> bool {
        self.recorded_of.is_empty()
    }

    /// The driver playing recorded cage `cage`.
    pub fn driver_of(&self, cage: u64) -> Option<CageId> {
        self.driver_of.get(&cage).copied()
    }

    /// Whether `cage`'s process exit has been replayed.
    pub fn has_ended(&self, cage: u64) -> bool {
        self.ended.contains(&cage)
    }

    /// Whether a fork of `child` would be a second player of a cage id the
    /// log has already shown (Lind never reuses one).
    pub fn is_known_cage(&self, child: u64) -> bool {
        self.driver_of.contains_key(&child)
            || self.forking.contains(&child)
            || self.ended.contains(&child)
    }

    /// `child`'s driver is being forked.
    pub fn start_fork(&mut self, child: u64) {
        self.forking.insert(child);
    }

    /// `child`'s driver could not be forked.
    pub fn fork_failed(&mut self, child: u64) {
        self.forking.remove(&child);
    }

    /// `driver` has taken its last step.
    pub fn leave(&mut self, driver: CageId) {
        self.live.remove(&driver);
    }

    /// Whether `driver` still runs.
    pub fn is_live(&self, driver: CageId) -> bool {
        self.live.contains(&driver)
    }

    /// The drivers that run and have asked for a step.
    pub fn live_arrived(&self) -> Vec<CageId> {
        self.live.intersection(&self.arrived).copied().collect()
    }

    /// Whether every driver bound so far has left.
    pub fn all_left(&self) -> bool {
        !self.recorded_of.is_empty() && self.live.is_empty()
    }

    /// Skipped records by reason, as the summary lists them.
    pub fn skipped(&self) -> Vec<(&'static str, u64)> {
        let mut list: Vec<(&'static str, u64)> =
            self.skipped.iter().map(|(r, n)| (r.text(), *n)).collect();
        list.sort_unstable();
        list
    }

    /// Records that `driver` plays recorded cage `cage`.
    pub fn bind(&mut self, driver: CageId, cage: u64) {
        self.recorded_of.insert(driver, cage);
        self.driver_of.insert(cage, driver);
        self.forking.remove(&cage);
        self.live.insert(driver);
    }

    /// `cage`'s process exit has been handed to its driver: no driver
    /// plays it any more.
    pub fn end(&mut self, cage: u64) {
        self.driver_of.remove(&cage);
        self.ended.insert(cage);
    }

    /// The condition `driver` waits on.
    pub fn bell(&mut self, driver: CageId) -> Arc<Condvar> {
        Arc::clone(self.bells.entry(driver).or_default())
    }

    /// Wakes `driver`, if it waits.
    pub fn ring(&self, driver: CageId) {
        if let Some(bell) = self.bells.get(&driver) {
            bell.notify_one();
        }
    }

    /// Wakes one waiting driver, whichever.
    pub fn ring_any(&self) {
        for (driver, bell) in &self.bells {
            if self.live.contains(driver) {
                bell.notify_one();
                return;
            }
        }
    }

    /// Wakes every driver.
    pub fn ring_all(&self) {
        for bell in self.bells.values() {
            bell.notify_one();
        }
    }

    /// Skips the next record, counted under `reason`.
    pub fn skip(&mut self, reason: SkipReason) {
        self.take();
        self.count_skip(reason);
    }

    /// Counts a record taken and then not replayed.
    pub fn count_skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    /// Whether some driver can play `cage` now or soon.
    pub fn playable(&self, cage: u64) -> bool {
        self.driver_of.contains_key(&cage) || self.forking.contains(&cage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::{ExitRecord, ForkRecord};

    fn exit(seq: u64, cage: u64) -> Record {
        Record::Exit(ExitRecord {
            seq,
            cage,
            status: 0,
            process: true,
            time_us: 0,
            ending: formats::Ending::Called,
        })
    }

    fn entries(records: Vec<Record>) -> Vec<Entry> {
        let index = 0..;
        index
            .zip(records)
            .map(|(index, record)| Entry { index, record })
            .collect()
    }

    #[test]
    fn the_feed_reads_ahead_only_as_far_as_asked() {
        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = read.clone();
        let stream = entries(vec![exit(0, 3), exit(1, 4), exit(2, 5)])
            .into_iter()
            .inspect(move |_| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .map(Ok);
        let mut feed = Feed::new(Box::new(stream));
        assert_eq!(feed.peek().map(|e| e.index), Some(0));
        assert_eq!(read.load(std::sync::atomic::Ordering::Relaxed), 1);
        let found = feed.find(|e| owner(&e.record) == Some(4)).map(|e| e.index);
        assert_eq!(found, Some(1));
        assert_eq!(read.load(std::sync::atomic::Ordering::Relaxed), 2);
        assert_eq!(feed.pop().map(|e| e.index), Some(0));
        assert_eq!(feed.pop().map(|e| e.index), Some(1));
        assert_eq!(feed.pop().map(|e| e.index), Some(2));
        assert!(feed.pop().is_none());
    }

    #[test]
    fn a_read_error_ends_the_feed_and_is_kept() {
        let stream = vec![
            Ok(entries(vec![exit(0, 3)]).remove(0)),
            Err(ReadError::TruncatedHeader { len: 3 }),
            Ok(entries(vec![exit(1, 3)]).remove(0)),
        ];
        let mut feed = Feed::new(Box::new(stream.into_iter()));
        assert!(feed.pop().is_some());
        assert!(feed.pop().is_none());
        assert!(feed.pop().is_none(), "nothing is read after the error");
        assert!(matches!(
            feed.take_failure(),
            Some(ReadError::TruncatedHeader { .. })
        ));
    }

    #[test]
    fn root_is_the_first_cage_that_works_not_the_tee_that_forked_it() {
        let fork = Record::Fork(ForkRecord {
            seq: 0,
            parent: 1,
            child: 3,
            thread: false,
            time_us: 0,
        });
        let mut schedule = Schedule::new(Feed::of(entries(vec![fork, exit(1, 3)])));
        schedule.bind_root(CageId(9));
        assert_eq!(schedule.cage_of(CageId(9)), Some(3));
        assert!(!schedule.playable(1));
    }

    #[test]
    fn a_schedule_tracks_binding_forking_ending_and_leaving() {
        let mut schedule = Schedule::new(Feed::of(entries(vec![exit(0, 3)])));
        assert!(schedule.unbound() && !schedule.all_left());
        schedule.bind(CageId(9), 3);
        schedule.arrive(CageId(9));
        assert_eq!(schedule.driver_of(3), Some(CageId(9)));
        assert_eq!(schedule.live_arrived(), [CageId(9)]);
        schedule.start_fork(4);
        assert!(schedule.playable(4) && schedule.is_known_cage(4));
        schedule.fork_failed(4);
        assert!(!schedule.playable(4) && !schedule.is_known_cage(4));
        schedule.end(3);
        assert!(schedule.has_ended(3) && schedule.is_known_cage(3));
        assert_eq!(schedule.driver_of(3), None);
        assert!(schedule.is_live(CageId(9)));
        schedule.leave(CageId(9));
        assert!(schedule.all_left());
    }

    #[test]
    fn skips_are_counted_by_reason_and_listed_as_the_summary_says_them() {
        let mut schedule = Schedule::new(Feed::of(entries(vec![exit(0, 3), exit(1, 3)])));
        schedule.skip(SkipReason::NotACall);
        schedule.count_skip(SkipReason::FilteredByCalls);
        schedule.count_skip(SkipReason::FilteredByCalls);
        assert_eq!(
            schedule.position(),
            1,
            "skip takes the record; count_skip does not"
        );
        assert_eq!(
            schedule.skipped(),
            [("filtered by --calls", 2), ("not a call", 1)]
        );
    }
}
