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
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
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
pub type SkipReason = &'static str;

/// The turn-taking state, behind the replayer's lock.
#[derive(Debug, Default)]
pub struct Schedule {
    /// The records not yet handed out.
    pub feed: Feed,
    /// How many records have been handed out or skipped.
    pub next: usize,
    /// Recorded cage played by each driver.
    pub recorded_of: HashMap<CageId, u64>,
    /// Driver playing each recorded cage.
    pub driver_of: HashMap<u64, CageId>,
    /// Recorded cages whose driver is being forked.
    pub forking: HashSet<u64>,
    /// Drivers still running.
    pub live: HashSet<CageId>,
    /// Drivers that have asked for a step: their cages surely exist, so
    /// a probe of them cannot name a cage the runtime does not know yet.
    pub arrived: HashSet<CageId>,
    /// Recorded cages whose process exit has been replayed: nothing of
    /// theirs is played after it (Lind never reuses a cage id, so a log
    /// that shows one again was not recorded so).
    pub ended: HashSet<u64>,
    /// Skipped records by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
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
        assert_eq!(schedule.recorded_of[&CageId(9)], 3);
        assert!(!schedule.playable(1));
    }
}
