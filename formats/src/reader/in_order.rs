//! Records in sequence order, in bounded memory: the reader's side of the
//! order promise (SPEC.md, "Order"; [`SEQ_WINDOW`]).

use std::collections::BTreeMap;
use std::io::Read;

use crate::error::ReadError;
use crate::reader::records::LogReader;
use crate::record::Record;
use crate::seq_window::SEQ_WINDOW;

/// A record and its index in the log file.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Its index among the file's good records.
    pub index: u64,
    /// The record.
    pub record: Record,
}

/// Streams a log's numbered records (calls and lifecycle events) in
/// sequence order, file order for equal numbers; records without a number
/// are counted in the indices and not returned.
///
/// A record reaching further back than [`SEQ_WINDOW`] is reported as
/// [`ReadError::OutOfOrder`], never put in the wrong place. At most about
/// `SEQ_WINDOW` records wait in memory at once.
pub struct InSeqOrder<R> {
    reader: LogReader<R>,
    waiting: BTreeMap<(u64, u64), Record>,
    /// The highest number read so far.
    highest: Option<u64>,
    /// Every number below it has been returned.
    expected: u64,
    exhausted: bool,
}

impl<R: Read> InSeqOrder<R> {
    /// Sequence order over `reader`, from where it is.
    pub fn new(reader: LogReader<R>) -> InSeqOrder<R> {
        InSeqOrder {
            reader,
            waiting: BTreeMap::new(),
            highest: None,
            expected: 0,
            exhausted: false,
        }
    }

    /// The underlying reader: its damage, tally, end and counts.
    pub fn reader(&self) -> &LogReader<R> {
        &self.reader
    }

    /// The underlying reader, to take its damage as it comes.
    pub fn reader_mut(&mut self) -> &mut LogReader<R> {
        &mut self.reader
    }

    /// How many records are read and wait for their turn.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The next record in sequence order; `Ok(None)` at the end.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, ReadError> {
        loop {
            if let Some(entry) = self.ready() {
                return Ok(Some(entry));
            }
            let index = self.reader.records_read();
            let Some(record) = self.reader.next_record()? else {
                self.exhausted = true;
                return Ok(self.pop());
            };
            let Some(seq) = record.seq() else {
                continue;
            };
            if let Some(after) = self
                .highest
                .filter(|&h| seq.saturating_add(SEQ_WINDOW) <= h)
            {
                return Err(ReadError::OutOfOrder {
                    offset: self.reader.record_offset(),
                    record_index: index,
                    seq,
                    after,
                });
            }
            self.highest = Some(self.highest.map_or(seq, |h| h.max(seq)));
            self.waiting.insert((seq, index), record);
        }
    }

    /// The first waiting record, if nothing unread can come before it: it
    /// is the next number, or the writer's bound rules out anything lower.
    fn ready(&mut self) -> Option<Entry> {
        let (&(seq, _), _) = self.waiting.first_key_value()?;
        let highest = self.highest.unwrap_or(0);
        let settled = seq <= self.expected || seq.saturating_add(SEQ_WINDOW) <= highest;
        (settled || self.exhausted).then(|| self.pop()).flatten()
    }

    fn pop(&mut self) -> Option<Entry> {
        let ((seq, index), record) = self.waiting.pop_first()?;
        self.expected = self.expected.max(seq.saturating_add(1));
        Some(Entry { index, record })
    }
}

impl<R: Read> Iterator for InSeqOrder<R> {
    type Item = Result<Entry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}
