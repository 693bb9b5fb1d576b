//! The writer against sinks that fail, threads that race, and the flush
//! policies.

mod common;

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use common::{as_stored, close, header, read, sample_records};

use formats::*;

/// A sink that accepts `limit` bytes in total and then fails with ENOSPC;
/// what it accepted stays readable through the shared handle.
#[derive(Clone)]
struct FailAfter {
    data: Arc<Mutex<Vec<u8>>>,
    limit: usize,
    flushes: Arc<Mutex<usize>>,
}

impl FailAfter {
    fn new(limit: usize) -> FailAfter {
        FailAfter {
            data: Arc::default(),
            limit,
            flushes: Arc::default(),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        self.data.lock().unwrap().clone()
    }

    fn flushes(&self) -> usize {
        *self.flushes.lock().unwrap()
    }
}

impl Write for FailAfter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut data = self.data.lock().unwrap();
        let room = self.limit.saturating_sub(data.len());
        if room == 0 {
            return Err(io::Error::from_raw_os_error(28)); // ENOSPC
        }
        let n = room.min(buf.len());
        data.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        *self.flushes.lock().unwrap() += 1;
        Ok(())
    }
}

fn header_len() -> usize {
    let mut v = Vec::new();
    drop(LogWriter::new(&mut v, &header(), SyncPolicy::OnExit).unwrap());
    v.len()
}

#[test]
fn failing_sink_stops_keeps_earlier_records_and_counts_drops() {
    let records = sample_records(200);
    for policy in [SyncPolicy::EveryRecord, SyncPolicy::OnExit] {
        for limit in [header_len() + 1, header_len() + 500, header_len() + 3001] {
            let sink = FailAfter::new(limit);
            let w = LogWriter::new(sink.clone(), &header(), policy).unwrap();
            for r in &records {
                w.append(r);
            }
            w.flush();
            let first = w.take_first_error();
            assert!(
                matches!(&first, Some(WriteError::Io { source, .. }) if source.raw_os_error() == Some(28)),
                "{first:?}"
            );
            assert!(w.take_first_error().is_none(), "reported once");
            let status = w.finish();
            assert!(status.error.is_some());
            let (got, end, damage) = read(&sink.bytes(), RecoveryMode::Strict).unwrap();
            assert_eq!(
                got.len() as u64,
                status.records_written,
                "{policy:?} {limit}"
            );
            assert_eq!(
                got.len() as u64 + status.dropped,
                records.len() as u64,
                "every record is written or dropped"
            );
            let expected: Vec<Record> = records[..got.len()].iter().map(as_stored).collect();
            assert_eq!(got, expected);
            assert!(!end.is_clean(), "no trailer after a failure");
            assert!(damage.is_empty());
        }
    }
}

#[test]
fn failing_sink_at_header_fails_creation() {
    let sink = FailAfter::new(5);
    let err = LogWriter::new(sink, &header(), SyncPolicy::OnExit).err();
    assert!(
        matches!(err, Some(WriteError::Io { offset: 0, .. })),
        "{err:?}"
    );
}

#[test]
fn oversized_record_is_dropped_and_writing_goes_on() {
    let mut log = Vec::new();
    let w = LogWriter::new(&mut log, &header(), SyncPolicy::OnExit).unwrap();
    w.append(&close(1, 3, 10));
    let mut huge = match close(2, 3, 20) {
        Record::Syscall(s) => s,
        _ => unreachable!(),
    };
    huge.inputs
        .push(common::buffer(1, &vec![7u8; MAX_FRAME_LEN as usize + 1]));
    w.append(&Record::Syscall(huge));
    w.append(&close(3, 3, 30));
    assert!(matches!(
        w.take_first_error(),
        Some(WriteError::TooLarge {
            record_index: 1,
            ..
        })
    ));
    let status = w.finish();
    assert_eq!(status.dropped, 1);
    let (got, end, _) = read(&log, RecoveryMode::Strict).unwrap();
    assert_eq!(
        got.len(),
        4,
        "two records, the Dropped record and the trailer"
    );
    assert!(
        matches!(&got[2], Record::Dropped(d) if d.count == 1 && d.reason == DropReason::WriteFailed)
    );
    assert!(end.is_clean());
}

#[test]
fn concurrent_appends_all_arrive_intact() {
    const THREADS: u64 = 8;
    const EACH: u64 = 400;
    let mut log = Vec::new();
    let w = LogWriter::new(&mut log, &header(), SyncPolicy::OnExit).unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let w = &w;
            s.spawn(move || {
                for i in 0..EACH {
                    let seq = t * EACH + i;
                    let mut rec = close(seq, 3 + t, seq);
                    if let Record::Syscall(s) = &mut rec {
                        s.inputs
                            .push(common::buffer(5, &seq.to_le_bytes().repeat(40)));
                    }
                    w.append(&rec);
                }
            });
        }
    });
    let status = w.finish();
    assert_eq!(status.records_written, THREADS * EACH + 1);
    let (got, end, _) = read(&log, RecoveryMode::Strict).unwrap();
    assert!(end.is_clean());
    let mut seqs: Vec<u64> = got.iter().filter_map(Record::seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..THREADS * EACH).collect::<Vec<_>>());
}

#[test]
fn every_record_policy_hands_each_record_over() {
    let sink = FailAfter::new(usize::MAX);
    let w = LogWriter::new(sink.clone(), &header(), SyncPolicy::EveryRecord).unwrap();
    let before = sink.bytes().len();
    w.append(&close(1, 3, 10));
    assert!(sink.bytes().len() > before);
    let (got, _, _) = read(&sink.bytes(), RecoveryMode::Strict).unwrap();
    assert_eq!(got.len(), 1);
    assert!(sink.flushes() >= 2, "header and record flushed");
    w.finish();
}

#[test]
fn on_exit_policy_holds_records_until_finish() {
    let sink = FailAfter::new(usize::MAX);
    let w = LogWriter::new(sink.clone(), &header(), SyncPolicy::OnExit).unwrap();
    let before = sink.bytes().len();
    w.append(&close(1, 3, 10));
    assert_eq!(sink.bytes().len(), before, "buffered");
    w.flush();
    assert!(sink.bytes().len() > before, "explicit flush");
    w.finish();
}

#[test]
fn every_millis_policy_flushes_when_due() {
    let sink = FailAfter::new(usize::MAX);
    let w = LogWriter::new(sink.clone(), &header(), SyncPolicy::EveryMillis(3_600_000)).unwrap();
    let before = sink.bytes().len();
    w.append(&close(1, 3, 10));
    assert_eq!(sink.bytes().len(), before, "not due for an hour");
    drop(w);

    let sink = FailAfter::new(usize::MAX);
    let w = LogWriter::new(sink.clone(), &header(), SyncPolicy::EveryMillis(0)).unwrap();
    let before = sink.bytes().len();
    w.append(&close(1, 3, 10));
    assert!(sink.bytes().len() > before, "always due");
}

#[test]
fn timer_policy_flushes_only_when_its_caller_asks() {
    let sink = FailAfter::new(usize::MAX);
    let w = LogWriter::new(sink.clone(), &header(), SyncPolicy::Timer(0)).unwrap();
    let before = sink.bytes().len();
    w.append(&close(1, 3, 10));
    assert_eq!(sink.bytes().len(), before, "appends never flush");
    w.flush_if_due();
    let flushed = sink.bytes().len();
    assert!(flushed > before, "the timer flushes what is due");
    w.flush_if_due();
    assert_eq!(sink.bytes().len(), flushed, "nothing new to flush");

    let sink = FailAfter::new(usize::MAX);
    let w = LogWriter::new(sink.clone(), &header(), SyncPolicy::Timer(3_600_000)).unwrap();
    let before = sink.bytes().len();
    w.append(&close(1, 3, 10));
    w.flush_if_due();
    assert_eq!(sink.bytes().len(), before, "not due for an hour");
}

#[test]
fn drop_without_finish_leaves_an_incomplete_log() {
    let sink = FailAfter::new(usize::MAX);
    let w = LogWriter::new(sink.clone(), &header(), SyncPolicy::OnExit).unwrap();
    w.append(&close(1, 3, 10));
    drop(w);
    let (got, end, _) = read(&sink.bytes(), RecoveryMode::Strict).unwrap();
    assert_eq!(got.len(), 1);
    assert!(matches!(end, LogEnd::Incomplete { .. }));
}

#[test]
fn create_makes_a_private_file_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.tlog");
    let w = LogWriter::create(&path, &header(), SyncPolicy::OnExit).unwrap();
    w.append(&close(1, 3, 10));
    w.finish();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = LogWriter::create(&path, &header(), SyncPolicy::OnExit).err();
    assert!(matches!(again, Some(WriteError::Open { .. })));
    let contents = read_all(&path, RecoveryMode::Strict).unwrap();
    assert_eq!(contents.records.len(), 2);
    assert_eq!(contents.header, header());
}

/// A sink whose writes, once armed, each wait for a go-ahead: it says when
/// a write has begun.
struct Gated {
    data: Arc<Mutex<Vec<u8>>>,
    armed: Arc<std::sync::atomic::AtomicBool>,
    began: std::sync::mpsc::Sender<()>,
    go: std::sync::mpsc::Receiver<()>,
}

impl Write for Gated {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.armed.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = self.began.send(());
            let _ = self.go.recv();
        }
        self.data.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A record of `len` bytes of data numbered `seq`.
fn big(seq: u64, len: usize) -> Record {
    let mut rec = close(seq, 3, seq);
    if let Record::Syscall(s) = &mut rec {
        s.inputs.push(common::buffer(1, &vec![seq as u8; len]));
    }
    rec
}

#[test]
fn appends_go_on_while_another_thread_writes_to_a_slow_sink() {
    let data = Arc::new(Mutex::new(Vec::new()));
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (began_tx, began) = std::sync::mpsc::channel();
    let (go, go_rx) = std::sync::mpsc::channel();
    let sink = Gated {
        data: Arc::clone(&data),
        armed: Arc::clone(&armed),
        began: began_tx,
        go: go_rx,
    };
    let w = LogWriter::new(sink, &header(), SyncPolicy::OnExit).unwrap();
    armed.store(true, std::sync::atomic::Ordering::SeqCst);
    // Enough 4 KiB records to fill and seal more than one 64 KiB buffer.
    let per_thread = 40;
    std::thread::scope(|s| {
        let w = &w;
        s.spawn(move || {
            for seq in 0..per_thread {
                w.append(&big(seq, 4096));
            }
        });
        began.recv().unwrap();
        // The sink now holds the first thread inside a write: a second
        // thread seals buffers of its own and must not wait for it.
        let (done_tx, done) = std::sync::mpsc::channel();
        s.spawn(move || {
            for seq in per_thread..2 * per_thread {
                w.append(&big(seq, 4096));
            }
            let _ = done_tx.send(());
        });
        // Not a timing check: without the fix the second thread waits for
        // the first's write, which waits for this thread, for ever.
        let finished_while_blocked = done.recv_timeout(std::time::Duration::from_secs(60));
        armed.store(false, std::sync::atomic::Ordering::SeqCst);
        for _ in 0..4 * per_thread {
            let _ = go.send(());
        }
        assert!(
            finished_while_blocked.is_ok(),
            "appends waited for another thread's write"
        );
    });
    let status = w.finish();
    assert_eq!(status.records_written, 2 * per_thread + 1);
    let log = data.lock().unwrap().clone();
    let (got, end, damage) = read(&log, RecoveryMode::Strict).unwrap();
    assert!(end.is_clean() && damage.is_empty());
    let mut seqs: Vec<u64> = got.iter().filter_map(Record::seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..2 * per_thread).collect::<Vec<_>>());
}
