//! The hand-off between the app's threads and the secondary's: a queue
//! bounded in bytes, in the order the calls took effect.
//!
//! An app thread pushes a job once its primary has answered and goes back
//! to the app; the secondary's thread takes jobs one at a time. Sequence
//! numbers are given out under the queue's lock, so the queue's order is
//! the log's order and no number is ever skipped.
//!
//! A full queue makes the app wait (`OnFull::Wait`) or drops the job
//! (`OnFull::Drop`, counted as a gap the next job carries). Waiting is never
//! forever: whoever waits on the secondary (an app thread on a full queue,
//! an exit draining it, the tee's main at every poll) watches the job the
//! secondary is in, and one that makes no progress within the stall limit
//! **detaches** the secondary: the queue is emptied, nothing more is
//! queued, and every waiter goes on. The stuck thread is left where it is.

use abi::sync::lock;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// What a full queue does to the app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnFull {
    /// The app waits for room (lossless), at most the stall limit.
    #[default]
    Wait,
    /// The job is dropped and counted.
    Drop,
}

/// How waiters poll a secondary that makes no progress.
const POLL: Duration = Duration::from_millis(20);

/// How long the secondary waits for more work before it sleeps until woken.
const NAP: Duration = Duration::from_millis(2);

/// Bytes a job costs beyond its buffers (its record, its slot).
pub const JOB_OVERHEAD: usize = 256;

/// Why the secondary was detached, for the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detached {
    /// The job it was stuck in, as [`Handoff::new`]'s `describe` says it.
    pub stuck_in: String,
    /// How long it had been stuck when it was detached.
    pub after_ms: u64,
}

/// What a push did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// Dropped: the queue was full (`OnFull::Drop`).
    Dropped,
    /// The secondary is detached; nothing is queued any more.
    Detached,
}

struct Queue<T> {
    jobs: VecDeque<(Arc<T>, usize)>,
    bytes: usize,
    next_seq: u64,
    /// Jobs queued: `Handoff::finished` equals it when the secondary idles.
    queued: u64,
    /// The jobs the secondary took at once, and `finished` when it took
    /// them: it is in job `finished - batch_start` of them. Weak: a job's
    /// memory goes as soon as the secondary is done with it.
    batch: Vec<Weak<T>>,
    batch_start: u64,
    /// Jobs served, for the app's thread to free at its next push: the
    /// thread that allocates a job frees it, so neither thread waits on
    /// the allocator's lock for the other, and the app's thread finds its
    /// own freed chunks cached for its next job.
    retired: Vec<Arc<T>>,
    /// When a waiter first saw the secondary in its current job (`finished`
    /// then, and the time): the stall clock.
    stall_watch: Option<(u64, u64)>,
    /// Jobs dropped since the last queued one, and in all.
    gap: u64,
    dropped: u64,
    /// Jobs not handed to the secondary after it was detached.
    after_detach: u64,
    detached: Option<Detached>,
    closed: bool,
    /// The secondary sleeps until woken (it naps first, and a push during
    /// a nap needs no wake-up); and how many wait for its progress. A
    /// wake-up is a futex call, on Lind a call into the runtime: pushes
    /// and finished jobs signal only when someone sleeps.
    sleeping: bool,
    watchers: u32,
}

/// The queue, its policy, and the clock waiters judge stalls by.
pub struct Handoff<T> {
    queue: Mutex<Queue<T>>,
    /// Set with `Queue::detached`, read without the lock on every call.
    detached: AtomicBool,
    /// Jobs the secondary has finished; counted without the lock, so a job
    /// costs the secondary no lock of its own.
    finished: AtomicU64,
    /// Bytes of finished jobs still counted in `Queue::bytes`: a job holds
    /// its room until it is served, so the bound covers what waits and
    /// what is being served, and room comes back job by job.
    served: AtomicUsize,
    /// `Queue::watchers`, readable without the lock.
    watching: AtomicU32,
    /// Signalled when a job is queued or the queue closes.
    work: Condvar,
    /// Signalled when the secondary finishes a job or is detached.
    progress: Condvar,
    limit: usize,
    on_full: OnFull,
    stall_ms: u64,
    now_ms: Box<dyn Fn() -> u64 + Send + Sync>,
    describe: fn(&T) -> String,
}

impl<T> Handoff<T> {
    /// A queue of at most `limit` bytes of jobs. `now_ms` is read only
    /// while someone waits on the secondary.
    pub fn new(
        limit: usize,
        on_full: OnFull,
        stall_ms: u64,
        now_ms: Box<dyn Fn() -> u64 + Send + Sync>,
        describe: fn(&T) -> String,
    ) -> Handoff<T> {
        Handoff {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                bytes: 0,
                next_seq: 0,
                queued: 0,
                batch: Vec::new(),
                batch_start: 0,
                retired: Vec::new(),
                stall_watch: None,
                gap: 0,
                dropped: 0,
                after_detach: 0,
                detached: None,
                closed: false,
                sleeping: false,
                watchers: 0,
            }),
            detached: AtomicBool::new(false),
            finished: AtomicU64::new(0),
            served: AtomicUsize::new(0),
            watching: AtomicU32::new(0),
            work: Condvar::new(),
            progress: Condvar::new(),
            limit,
            on_full,
            stall_ms,
            now_ms,
            describe,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        lock(&self.queue)
    }

    fn wait_progress<'a>(&self, mut queue: MutexGuard<'a, Queue<T>>) -> MutexGuard<'a, Queue<T>> {
        queue.watchers += 1;
        self.watching.store(queue.watchers, Ordering::Relaxed);
        self.wake(&mut queue);
        let mut queue = self
            .progress
            .wait_timeout(queue, POLL)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        queue.watchers -= 1;
        self.watching.store(queue.watchers, Ordering::Relaxed);
        queue
    }

    /// Takes the room of served jobs back.
    fn release(&self, queue: &mut Queue<T>) {
        queue.bytes = queue
            .bytes
            .saturating_sub(self.served.swap(0, Ordering::AcqRel));
    }

    /// Wakes the secondary if it sleeps.
    fn wake(&self, queue: &mut Queue<T>) {
        if std::mem::take(&mut queue.sleeping) {
            self.work.notify_one();
        }
    }

    /// Queues the job `make` builds from its sequence number and the jobs
    /// dropped just before it: `(seq, count)`, a number of its own for the
    /// gap, just before the job's. A job that `must` be kept (fork,
    /// exec, exit) is never dropped, though it may wait.
    pub fn push(
        &self,
        bytes: usize,
        must: bool,
        make: impl FnOnce(u64, Option<(u64, u64)>) -> T,
    ) -> Pushed {
        let bytes = bytes + JOB_OVERHEAD;
        let mut queue = self.lock();
        loop {
            if queue.detached.is_some() || queue.closed {
                queue.after_detach += 1;
                return Pushed::Detached;
            }
            // One job always fits, however large: a call bigger than the
            // queue waits for an empty queue rather than for ever.
            self.release(&mut queue);
            if queue.jobs.is_empty() || queue.bytes + bytes <= self.limit {
                break;
            }
            if self.on_full == OnFull::Drop && !must {
                queue.gap += 1;
                queue.dropped += 1;
                return Pushed::Dropped;
            }
            self.check_stall(&mut queue);
            queue = self.wait_progress(queue);
        }
        let gap = match std::mem::take(&mut queue.gap) {
            0 => None,
            count => {
                queue.next_seq += 1;
                Some((queue.next_seq - 1, count))
            }
        };
        let seq = queue.next_seq;
        queue.next_seq += 1;
        queue.jobs.push_back((Arc::new(make(seq, gap)), bytes));
        queue.bytes += bytes;
        queue.queued += 1;
        self.wake(&mut queue);
        let retired = std::mem::take(&mut queue.retired);
        drop(queue);
        drop(retired);
        Pushed::Queued
    }

    /// Hands jobs the secondary has served back to be freed by the app's
    /// thread, which made them (`Queue::retired`). What waits there is
    /// memory beyond the bound until the app's next call: at most what
    /// one batch held.
    pub fn retire(&self, spent: &mut Vec<Arc<T>>) {
        if spent.is_empty() {
            return;
        }
        let mut queue = self.lock();
        if queue.retired.is_empty() {
            std::mem::swap(&mut queue.retired, spent);
        } else {
            queue.retired.append(spent);
        }
    }

    /// The secondary's next job; `None` once the queue is closed and empty
    /// or the secondary detached. `idle` runs (unlocked) each time the
    /// queue is found empty, and says how long to sleep before it runs again.
    /// The batch is put in `batch` (cleared first; the secondary drains it,
    /// dropping each job once served); both it and the queue's own list
    /// keep their capacity from batch to batch, as a fresh large vector is
    /// fresh memory to fault in every time.
    pub fn next(
        &self,
        batch: &mut Vec<(Arc<T>, usize)>,
        mut idle: impl FnMut() -> Option<Duration>,
    ) -> bool {
        batch.clear();
        let mut queue = self.lock();
        queue.batch.clear();
        self.release(&mut queue);
        queue.stall_watch = None;
        // The last batch is done: an exit draining the queue may go.
        if queue.watchers > 0 {
            self.progress.notify_all();
        }
        loop {
            if queue.detached.is_some() {
                return false;
            }
            if !queue.jobs.is_empty() {
                let queue = &mut *queue;
                batch.extend(queue.jobs.drain(..));
                queue
                    .batch
                    .extend(batch.iter().map(|(job, _)| Arc::downgrade(job)));
                queue.batch_start = self.finished.load(Ordering::Relaxed);
                return true;
            }
            if queue.closed {
                return false;
            }
            // A nap first: calls come in bursts, and jobs queued meanwhile
            // cost the app no wake-up.
            queue = self
                .work
                .wait_timeout(queue, NAP)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if !queue.jobs.is_empty() || queue.closed || queue.detached.is_some() {
                continue;
            }
            drop(queue);
            let nap = idle();
            queue = self.lock();
            if !queue.jobs.is_empty() || queue.closed {
                continue;
            }
            queue.sleeping = true;
            queue = match nap {
                Some(nap) => {
                    self.work
                        .wait_timeout(queue, nap)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.work.wait(queue).unwrap_or_else(|e| e.into_inner()),
            };
            queue.sleeping = false;
        }
    }

    /// The secondary finished one job of its batch, of `bytes`.
    pub fn done(&self, bytes: usize) {
        let served = self.served.fetch_add(bytes, Ordering::AcqRel) + bytes;
        self.finished.fetch_add(1, Ordering::Release);
        // Room for an app waiting on a full queue, in quarters: a wake-up
        // per job would have the two threads take turns call by call.
        // (A drain is woken at the batch's end, or polls.)
        if self.watching.load(Ordering::Relaxed) > 0 && served >= self.limit / 4 {
            self.progress.notify_all();
        }
    }

    /// Waits until the secondary has finished every job queued so far, or
    /// is detached. An exit waits so before its cage goes away.
    pub fn drain(&self) {
        let mut queue = self.lock();
        let target = queue.queued;
        while self.finished.load(Ordering::Acquire) < target && queue.detached.is_none() {
            self.check_stall(&mut queue);
            queue = self.wait_progress(queue);
        }
    }

    /// Closes the queue and waits for the secondary to finish what is
    /// queued, or to be detached.
    pub fn close(&self) {
        let mut queue = self.lock();
        queue.closed = true;
        queue.sleeping = false;
        self.work.notify_all();
        drop(queue);
        self.drain();
    }

    /// Detaches the secondary if it has sat in one job past the stall
    /// limit; the tee's main calls this at every poll, so a stuck
    /// secondary is found even when no one waits on it.
    pub fn watch(&self) {
        let mut queue = self.lock();
        self.check_stall(&mut queue);
    }

    fn check_stall(&self, queue: &mut Queue<T>) {
        if queue.detached.is_some() {
            return;
        }
        let finished = self.finished.load(Ordering::Acquire);
        let at_job = finished.saturating_sub(queue.batch_start) as usize;
        let Some(current) = queue.batch.get(at_job).and_then(Weak::upgrade) else {
            queue.stall_watch = None;
            return;
        };
        let now = (self.now_ms)();
        let (at, since) = *queue.stall_watch.get_or_insert((finished, now));
        if at != finished {
            queue.stall_watch = Some((finished, now));
            return;
        }
        let stuck_for = now.saturating_sub(since);
        if stuck_for < self.stall_ms {
            return;
        }
        queue.detached = Some(Detached {
            stuck_in: (self.describe)(&current),
            after_ms: stuck_for,
        });
        self.detached.store(true, Ordering::Relaxed);
        // The queued jobs and the rest of the batch, which the secondary
        // drops when it comes back.
        queue.after_detach += (queue.jobs.len() + queue.batch.len() - at_job - 1) as u64;
        queue.jobs.clear();
        queue.bytes = 0;
        self.progress.notify_all();
        self.work.notify_all();
    }

    /// Whether the secondary was detached: the app's calls need not be
    /// copied any more.
    pub fn is_detached(&self) -> bool {
        self.detached.load(Ordering::Relaxed)
    }

    /// Counts a call the secondary never got because it was detached.
    pub fn missed(&self) {
        self.lock().after_detach += 1;
    }

    /// Why the secondary was detached, and how many jobs it never got.
    pub fn detached(&self) -> Option<(Detached, u64)> {
        let queue = self.lock();
        queue.detached.clone().map(|d| (d, queue.after_detach))
    }

    /// Jobs dropped for a full queue, in all; and those dropped since the
    /// last one queued (a gap no job carries yet).
    pub fn dropped(&self) -> (u64, u64) {
        let queue = self.lock();
        (queue.dropped, queue.gap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    fn handoff(limit: usize, on_full: OnFull, clock: Arc<AtomicU64>) -> Arc<Handoff<u64>> {
        Arc::new(Handoff::new(
            limit,
            on_full,
            100,
            Box::new(move || clock.load(Ordering::Relaxed)),
            |job| format!("job {job}"),
        ))
    }

    #[test]
    fn jobs_come_out_in_sequence_order_with_their_numbers() {
        let q = handoff(1 << 20, OnFull::Wait, Arc::default());
        for _ in 0..3 {
            assert_eq!(q.push(10, false, |seq, _| seq), Pushed::Queued);
        }
        // The secondary takes what is queued at once.
        let mut batch = Vec::new();
        assert!(q.next(&mut batch, || None));
        let got: Vec<u64> = batch.iter().map(|(job, _)| **job).collect();
        assert_eq!(got, [0, 1, 2]);
    }

    /// A job that records which thread freed it.
    struct Marked(Arc<std::sync::Mutex<Vec<std::thread::ThreadId>>>);

    impl Drop for Marked {
        fn drop(&mut self) {
            self.0.lock().unwrap().push(std::thread::current().id());
        }
    }

    #[test]
    fn served_jobs_are_freed_by_the_thread_that_queued_them_at_its_next_push() {
        let q = Arc::new(Handoff::new(
            1 << 20,
            OnFull::Wait,
            100,
            Box::new(|| 0),
            |_: &Marked| String::new(),
        ));
        let freed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let app = std::thread::current().id();
        for _ in 0..3 {
            q.push(10, false, |_, _| Marked(freed.clone()));
        }
        let secondary = {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut batch = Vec::new();
                let mut spent = Vec::new();
                assert!(q.next(&mut batch, || None));
                for (job, bytes) in batch.drain(..) {
                    spent.push(job);
                    q.done(bytes);
                }
                q.retire(&mut spent);
                assert!(spent.is_empty());
            })
        };
        secondary.join().unwrap();
        assert!(freed.lock().unwrap().is_empty(), "served, not yet freed");
        q.push(10, false, |_, _| Marked(freed.clone()));
        assert_eq!(*freed.lock().unwrap(), [app; 3]);
    }

    #[test]
    fn a_full_queue_drops_and_the_next_job_carries_the_gap() {
        let q = handoff(2 * JOB_OVERHEAD, OnFull::Drop, Arc::default());
        let mut gaps = Vec::new();
        let mut push = |must| {
            q.push(0, must, |seq, gap| {
                gaps.push((seq, gap));
                seq
            })
        };
        assert_eq!(push(false), Pushed::Queued);
        assert_eq!(push(false), Pushed::Queued);
        assert_eq!(push(false), Pushed::Dropped);
        assert_eq!(push(false), Pushed::Dropped);
        assert_eq!(q.dropped(), (2, 2));
        q.next(&mut Vec::new(), || None);
        q.done(JOB_OVERHEAD);
        // A fork, exec or exit is never dropped.
        assert_eq!(push(true), Pushed::Queued);
        q.next(&mut Vec::new(), || None);
        q.done(JOB_OVERHEAD);
        assert_eq!(push(false), Pushed::Queued);
        // The gap took number 2, just before the job that carries it, and
        // none was left for the one after.
        assert_eq!(gaps, [(0, None), (1, None), (3, Some((2, 2))), (4, None)]);
        assert_eq!(q.dropped(), (2, 0));
    }

    #[test]
    fn a_secondary_stuck_past_the_stall_limit_is_detached_and_the_app_goes_on() {
        let clock = Arc::new(AtomicU64::new(0));
        let q = handoff(JOB_OVERHEAD, OnFull::Wait, clock.clone());
        q.push(0, false, |seq, _| seq);
        let mut batch = Vec::new();
        assert!(q.next(&mut batch, || None));
        assert_eq!(*batch[0].0, 0);
        // The secondary never finishes job 0; the queue fills.
        q.push(0, false, |seq, _| seq);
        let ticking = {
            let clock = clock.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    clock.fetch_add(10, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        assert_eq!(q.push(0, false, |seq, _| seq), Pushed::Detached);
        let (why, lost) = q.detached().unwrap();
        assert_eq!(why.stuck_in, "job 0");
        assert!(why.after_ms >= 100, "{why:?}");
        // The queued job 1 and the refused job 2.
        assert_eq!(lost, 2);
        q.drain();
        assert!(!q.next(&mut Vec::new(), || None));
        ticking.join().unwrap();
    }
}
