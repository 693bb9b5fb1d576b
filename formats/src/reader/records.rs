//! Records from frames: the header check, postcard decoding, record
//! indices, and the recovery policy.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::compress::{Codec, Codecs};
use crate::error::{Damage, DamageReason, DamageTally, ReadError};
use crate::frame::{
    decode_version, ENDING_MINOR, FORMAT_MAJOR, FORMAT_MINOR, MAGIC, PREAMBLE_BYTES,
};
use crate::header::{HeaderError, LogHeader};
use crate::reader::frames::{FrameReader, Next};
use crate::record::{Ending, Record, TrailerRecord};

/// How many `Record` variants this version knows; a larger tag in a log
/// of a newer minor version is a record kind added since.
const KNOWN_KINDS: u64 = 7;

/// What a reader does with damage (SPEC.md, "Reader behaviour on damage").
/// The most damaged ranges a reader keeps for [`LogReader::take_damage`]
/// or [`LogReader::damage`] to return; past it they are only counted.
pub const DAMAGE_KEPT: usize = 1024;

/// A torn tail is not damage: both modes end there, keeping everything
/// before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Stop at the first damaged frame with [`ReadError::Corrupt`].
    Strict,
    /// Skip damaged bytes to the next valid frame, and report each skipped
    /// range as a [`Damage`].
    Salvage,
}

/// How a log ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEnd {
    /// A trailer, then end of file.
    Clean {
        /// The trailer.
        trailer: TrailerRecord,
    },
    /// End of file at a frame boundary, with no trailer: the writer did
    /// not finish (it was killed, or is still writing).
    Incomplete {
        /// The file's length.
        offset: u64,
    },
    /// The last frame is cut short: the writer died mid-write. Everything
    /// before `offset` is good.
    TornTail {
        /// Where the torn frame starts.
        offset: u64,
        /// Its bytes present.
        len: u64,
    },
}

impl LogEnd {
    /// True only for [`LogEnd::Clean`].
    pub fn is_clean(&self) -> bool {
        matches!(self, LogEnd::Clean { .. })
    }
}

/// A streaming log reader over any byte source.
///
/// ```no_run
/// # fn main() -> Result<(), formats::ReadError> {
/// use formats::{LogReader, RecoveryMode};
/// let file = std::fs::File::open("trace.tlog").expect("open");
/// let mut reader = LogReader::new(file, RecoveryMode::Salvage)?;
/// while let Some(record) = reader.next_record()? {
///     println!("{record:?}");
/// }
/// for d in reader.damage() {
///     eprintln!("skipped: {d}");
/// }
/// # Ok(())
/// # }
/// ```
pub struct LogReader<R> {
    frames: FrameReader<R>,
    header: LogHeader,
    mode: RecoveryMode,
    index: u64,
    valid_offset: u64,
    /// Where the last good record's frame starts.
    record_offset: u64,
    damage: Vec<Damage>,
    tally: DamageTally,
    damaged: bool,
    end: Option<LogEnd>,
    /// Set when strict mode returned an error; reading is over.
    stopped: bool,
    /// The trailer, while it is the last thing read.
    trailer: Option<TrailerRecord>,
    /// The log's minor version: what its records may hold.
    minor: u16,
    unknown: u64,
    /// Where a second, concatenated log begins, once found.
    second_log: Option<u64>,
    /// Read on into a concatenated log instead of ending at it.
    merge: bool,
    /// The header's codec, for compressed frames.
    codecs: Codecs,
    /// Frames read so far with the compressed flag.
    compressed: u64,
    /// What compressed frames held and claimed, against the limit.
    inflation: Inflation,
}

/// Bytes compressed frames held, and what they claim to decompress to.
#[derive(Debug)]
struct Inflation {
    stored: u64,
    inflated: u64,
    /// How many times the stored bytes they may decompress to.
    max: u64,
}

impl Inflation {
    /// Counts a frame of `stored` bytes claiming `claimed`; what is wrong
    /// if that passes the limit.
    fn count(&mut self, stored: usize, claimed: usize) -> Result<(), String> {
        self.stored += stored as u64;
        self.inflated += claimed as u64;
        let allowed = self
            .stored
            .saturating_mul(self.max)
            .saturating_add(INFLATION_SLACK);
        if self.inflated <= allowed {
            return Ok(());
        }
        Err(format!(
            "compressed frames would decompress to {} bytes, more than {} times the {} \
             bytes they hold (--max-inflation)",
            self.inflated, self.max, self.stored
        ))
    }
}

/// The default most a log's compressed frames may decompress to: this
/// many times the bytes they hold (plus [`INFLATION_SLACK`]). Real logs
/// compress far less (a repeated 4 KiB block: 13 times); a crafted one
/// can claim 27,000 times.
pub const MAX_INFLATION: u64 = 1024;

/// Decompressed bytes allowed beyond the ratio, so a short log of a few
/// highly compressible frames still reads.
pub const INFLATION_SLACK: u64 = 64 << 20;

/// Everything [`read_all`] found in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogContents {
    /// The header.
    pub header: LogHeader,
    /// Every good record in order, Dropped and Trailer records included.
    pub records: Vec<Record>,
    /// How the log ends.
    pub end: LogEnd,
    /// Byte ranges skipped (salvage mode only; strict mode errs instead),
    /// the first [`DAMAGE_KEPT`].
    pub damage: Vec<Damage>,
    /// All of them, counted.
    pub damage_tally: DamageTally,
    /// The end of the last good frame.
    pub valid_offset: u64,
}

/// Reads the whole log at `path`.
pub fn read_all(path: impl AsRef<Path>, mode: RecoveryMode) -> Result<LogContents, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io { offset: 0, source })?;
    let mut reader = LogReader::new(file, mode)?;
    let mut records = Vec::new();
    while let Some(r) = reader.next_record()? {
        records.push(r);
    }
    let end = reader.end.take().unwrap_or(LogEnd::Incomplete {
        offset: reader.valid_offset,
    });
    Ok(LogContents {
        header: reader.header,
        records,
        end,
        damage: reader.damage,
        damage_tally: reader.tally,
        valid_offset: reader.valid_offset,
    })
}

impl<R: Read> LogReader<R> {
    /// Reads and checks the header. Refuses a file without the magic, of
    /// an unknown major version, or whose header is cut short or damaged,
    /// in either mode.
    pub fn new(src: R, mode: RecoveryMode) -> Result<Self, ReadError> {
        let mut frames = FrameReader::new(src);
        let io = |frames: &FrameReader<R>, source| ReadError::Io {
            offset: frames.read_offset(),
            source,
        };
        let preamble: [u8; PREAMBLE_BYTES] = match frames.peek(PREAMBLE_BYTES) {
            Err(source) => return Err(io(&frames, source)),
            Ok(bytes) => {
                let magic = bytes.get(..MAGIC.len()).unwrap_or(bytes);
                if magic != MAGIC.get(..magic.len()).unwrap_or(&MAGIC) {
                    return Err(ReadError::BadMagic {
                        found: magic.to_vec(),
                    });
                }
                match bytes.try_into() {
                    Ok(p) => p,
                    Err(_) => {
                        return Err(ReadError::TruncatedHeader {
                            len: bytes.len() as u64,
                        })
                    }
                }
            }
        };
        let (major, minor) = decode_version(&preamble);
        if major != FORMAT_MAJOR {
            return Err(ReadError::UnsupportedVersion {
                offset: MAGIC.len() as u64,
                major,
                minor,
            });
        }
        frames.consume(PREAMBLE_BYTES);
        let header = match frames.next() {
            Err(source) => return Err(io(&frames, source)),
            Ok(Next::Frame {
                offset,
                payload,
                flagged,
                ..
            }) => {
                let bad = |detail| ReadError::BadHeader {
                    offset,
                    reason: DamageReason::BadPayload { detail },
                };
                let header = LogHeader::decode(major, minor, frames.payload(payload)).map_err(
                    |e| match e {
                        HeaderError::Bad(detail) => bad(detail),
                        HeaderError::UnknownCodec(detail) => {
                            ReadError::UnknownCodec { offset, detail }
                        }
                    },
                )?;
                if flagged != (header.compression != Codec::None) {
                    return Err(bad(format!(
                        "the header frame's compressed flag disagrees with its codec ({})",
                        header.compression.name()
                    )));
                }
                header
            }
            Ok(Next::End { offset }) => return Err(ReadError::TruncatedHeader { len: offset }),
            Ok(Next::Torn { offset, len }) => {
                return Err(ReadError::TruncatedHeader { len: offset + len })
            }
            Ok(Next::Damage { offset, reason, .. }) => {
                return Err(ReadError::BadHeader { offset, reason })
            }
            Ok(Next::SecondLog { offset, .. }) => {
                return Err(ReadError::BadHeader {
                    offset,
                    reason: DamageReason::SecondLog,
                })
            }
        };
        Ok(LogReader {
            valid_offset: frames.position(),
            record_offset: frames.position(),
            frames,
            mode,
            index: 0,
            damage: Vec::new(),
            tally: DamageTally::default(),
            damaged: false,
            end: None,
            stopped: false,
            trailer: None,
            minor,
            unknown: 0,
            second_log: None,
            merge: false,
            codecs: Codecs::new(header.compression),
            compressed: 0,
            inflation: Inflation {
                stored: 0,
                inflated: 0,
                max: MAX_INFLATION,
            },
            header,
        })
    }

    /// Lets compressed frames decompress to `ratio` times the bytes they
    /// hold (plus [`INFLATION_SLACK`]); past that, reading stops with
    /// [`ReadError::Limit`].
    pub fn max_inflation(mut self, ratio: u64) -> Self {
        self.inflation.max = ratio;
        self
    }

    /// In salvage mode, reads on into a second log concatenated to this one
    /// (its records follow this one's) instead of ending where it begins.
    pub fn merge_concatenated(&mut self, merge: bool) {
        self.merge = merge;
    }

    /// The offset where a second, concatenated log begins, once read to.
    pub fn second_log_at(&self) -> Option<u64> {
        self.second_log
    }

    /// The log's header.
    pub fn header(&self) -> &LogHeader {
        &self.header
    }

    /// The next good record; `Ok(None)` at the end of the log (see
    /// [`end`](LogReader::end)) and after a strict-mode error.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        if self.end.is_some() || self.stopped {
            return Ok(None);
        }
        loop {
            let next = self.frames.next().map_err(|source| ReadError::Io {
                offset: self.frames.read_offset(),
                source,
            })?;
            match next {
                Next::Frame {
                    offset,
                    len,
                    payload,
                    flagged,
                } => {
                    let stored = self.frames.payload(payload);
                    if flagged {
                        self.compressed += 1;
                        if let Ok((claimed, _)) = self.codecs.claim(stored) {
                            if let Err(detail) = self.inflation.count(stored.len(), claimed) {
                                self.stopped = true;
                                return Err(ReadError::Limit {
                                    offset,
                                    record_index: self.index,
                                    detail,
                                });
                            }
                        }
                    }
                    let decoded = if flagged {
                        self.codecs
                            .decompress(stored)
                            .map_err(|detail| Some(DamageReason::BadPayload { detail }))
                            .and_then(|raw| decode(&raw, self.minor))
                    } else {
                        decode(stored, self.minor)
                    };
                    match decoded {
                        Ok(record) => return self.accept(record, offset, len).map(Some),
                        Err(None) => {
                            self.unknown += 1;
                            self.valid_offset = offset + len;
                        }
                        Err(Some(reason)) => self.report(offset, len, reason)?,
                    }
                }
                Next::End { offset } => {
                    self.end = Some(match self.trailer.take() {
                        Some(trailer) => LogEnd::Clean { trailer },
                        None => LogEnd::Incomplete { offset },
                    });
                    return Ok(None);
                }
                Next::Torn { offset, len } => {
                    self.end = Some(LogEnd::TornTail { offset, len });
                    return Ok(None);
                }
                Next::Damage {
                    offset,
                    len,
                    reason,
                } => self.report(offset, len, reason)?,
                Next::SecondLog { offset, len } => {
                    self.second_log = Some(offset);
                    let first_end = match self.trailer.take() {
                        Some(trailer) => LogEnd::Clean { trailer },
                        None => LogEnd::Incomplete { offset },
                    };
                    // Damage either way (a strict reader stops here); a
                    // salvaging one ends with the first log unless asked
                    // to read on into the second.
                    self.report(offset, len, DamageReason::SecondLog)?;
                    if !self.merge {
                        self.end = Some(first_end);
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn accept(&mut self, record: Record, offset: u64, len: u64) -> Result<Record, ReadError> {
        self.trailer = None;
        if let Record::Trailer(t) = &record {
            // After skipped damage the counts cannot match; say so only when
            // nothing else explains it.
            if !self.damaged && (t.records != self.index || t.bytes != offset) {
                let reason = DamageReason::TrailerMismatch {
                    records: t.records,
                    read: self.index,
                    bytes: t.bytes,
                    offset,
                };
                self.report(offset, 0, reason)?;
            }
            self.trailer = Some(t.clone());
        }
        self.valid_offset = offset + len;
        self.record_offset = offset;
        self.index += 1;
        Ok(record)
    }

    fn report(&mut self, offset: u64, len: u64, reason: DamageReason) -> Result<(), ReadError> {
        let damage = Damage {
            offset,
            len,
            record_index: self.index,
            reason,
        };
        self.trailer = None;
        self.damaged = true;
        match self.mode {
            RecoveryMode::Strict => {
                self.stopped = true;
                Err(ReadError::Corrupt(damage))
            }
            RecoveryMode::Salvage => {
                self.tally.add(&damage);
                if self.damage.len() < DAMAGE_KEPT {
                    self.damage.push(damage);
                }
                Ok(())
            }
        }
    }

    /// Damage skipped so far (salvage mode), the first [`DAMAGE_KEPT`]
    /// ranges.
    pub fn damage(&self) -> &[Damage] {
        &self.damage
    }

    /// Damage skipped since the last call, for callers streaming huge logs:
    /// at most [`DAMAGE_KEPT`] ranges between calls (one record can be
    /// preceded by millions on a crafted file); the
    /// [tally](LogReader::damage_tally) counts them all.
    pub fn take_damage(&mut self) -> Vec<Damage> {
        std::mem::take(&mut self.damage)
    }

    /// All damage skipped so far, taken or not, in constant memory.
    pub fn damage_tally(&self) -> &DamageTally {
        &self.tally
    }

    /// How the log ended, once [`next_record`](LogReader::next_record) has
    /// returned `Ok(None)` without a strict-mode error.
    pub fn end(&self) -> Option<&LogEnd> {
        self.end.as_ref()
    }

    /// The end of the last good frame (or of the header): where a writer
    /// appending to this log should truncate it first.
    pub fn valid_offset(&self) -> u64 {
        self.valid_offset
    }

    /// Where the frame of the record last returned starts.
    pub fn record_offset(&self) -> u64 {
        self.record_offset
    }

    /// Good records read so far; the index of the next one.
    pub fn records_read(&self) -> u64 {
        self.index
    }

    /// Frames read so far whose payload was compressed.
    pub fn compressed_frames(&self) -> u64 {
        self.compressed
    }

    /// Records of kinds added by a newer minor version, skipped.
    pub fn unknown_records(&self) -> u64 {
        self.unknown
    }
}

impl<R: Read> Iterator for LogReader<R> {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// Decodes one payload of a log of version 1.`minor`. `Err(None)`: a
/// record kind from a newer minor version, to be skipped. Trailing bytes
/// are a newer minor's appended fields, and damage otherwise.
fn decode(payload: &[u8], minor: u16) -> Result<Record, Option<DamageReason>> {
    let newer_minor = minor > FORMAT_MINOR;
    // A record of an older minor lacks the fields appended since: it reads
    // as one that ends with their "nothing" values, one `00` byte each
    // (Syscall's `duration_ns: None` before 1.2, Exit's `Ending::Called`
    // before 1.4).
    let missing = match payload.first() {
        Some(&SYSCALL_TAG) if minor < DURATION_MINOR => 1,
        Some(&EXIT_TAG) if minor < ENDING_MINOR => 1,
        _ => return decode_current(payload, newer_minor),
    };
    let mut padded = Vec::with_capacity(payload.len() + missing);
    padded.extend_from_slice(payload);
    padded.resize(payload.len() + missing, 0);
    match decode_current(&padded, false) {
        // A padding byte was read as something else: the old record had a
        // byte of its own too many.
        Ok(Record::Syscall(r)) if r.duration_ns.is_some() => {
            Err(Some(DamageReason::TrailingBytes { extra: 1 }))
        }
        Ok(Record::Exit(r)) if r.ending != Ending::Called => {
            Err(Some(DamageReason::TrailingBytes { extra: 1 }))
        }
        other => other,
    }
}

/// The minor version that appended `duration_ns` to syscall records.
const DURATION_MINOR: u16 = 2;

/// The tag of `Record::Syscall`.
const SYSCALL_TAG: u8 = 0;

/// The tag of `Record::Exit`.
const EXIT_TAG: u8 = 3;

fn decode_current(payload: &[u8], newer_minor: bool) -> Result<Record, Option<DamageReason>> {
    match postcard::take_from_bytes::<Record>(payload) {
        Ok((record, rest)) if rest.is_empty() || newer_minor => Ok(record),
        Ok((_, rest)) => Err(Some(DamageReason::TrailingBytes {
            extra: rest.len() as u64,
        })),
        Err(e) => {
            let tag = postcard::take_from_bytes::<u64>(payload).map(|(t, _)| t);
            if newer_minor && tag.is_ok_and(|t| t >= KNOWN_KINDS) {
                Err(None)
            } else {
                Err(Some(DamageReason::BadPayload {
                    detail: e.to_string(),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{DropReason, DroppedRecord, SyscallRecord};

    #[test]
    fn known_kinds_matches_the_record_enum() {
        let gap = Record::Gap(crate::record::GapRecord { seq: 0, calls: 1 });
        let bytes = postcard::to_stdvec(&gap).unwrap();
        assert_eq!(u64::from(bytes[0]), KNOWN_KINDS - 1, "Gap is the last kind");
    }

    #[test]
    fn unknown_kind_is_skipped_only_for_newer_minors() {
        let payload = [KNOWN_KINDS as u8, 1, 2, 3];
        assert_eq!(decode(&payload, FORMAT_MINOR + 1), Err(None));
        assert!(matches!(
            decode(&payload, FORMAT_MINOR),
            Err(Some(DamageReason::BadPayload { .. }))
        ));
    }

    #[test]
    fn trailing_bytes_are_damage_unless_newer_minor() {
        let rec = Record::Dropped(DroppedRecord {
            count: 1,
            reason: DropReason::CaptureFailed,
            detail: String::new(),
        });
        let mut payload = postcard::to_stdvec(&rec).unwrap();
        payload.push(7);
        assert_eq!(decode(&payload, FORMAT_MINOR + 1), Ok(rec));
        assert_eq!(
            decode(&payload, FORMAT_MINOR),
            Err(Some(DamageReason::TrailingBytes { extra: 1 }))
        );
    }

    fn syscall(duration_ns: Option<u64>) -> SyscallRecord {
        SyscallRecord {
            seq: 1,
            cage: 2,
            nr: 3,
            args: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            result: 0,
            secondary: None,
            time_us: 5,
            duration_ns,
        }
    }

    #[test]
    fn a_syscall_before_1_2_reads_without_a_duration() {
        let now = postcard::to_stdvec(&Record::Syscall(syscall(None))).unwrap();
        // The 1.1 layout: the same bytes without the last field.
        let old = &now[..now.len() - 1];
        for minor in [0, 1] {
            assert_eq!(decode(old, minor), Ok(Record::Syscall(syscall(None))));
            assert!(decode(&now, minor).is_err(), "1.{minor} with an extra byte");
        }
        assert!(decode(old, FORMAT_MINOR).is_err(), "1.2 needs the field");
        let timed = postcard::to_stdvec(&Record::Syscall(syscall(Some(1_500)))).unwrap();
        assert_eq!(
            decode(&timed, FORMAT_MINOR),
            Ok(Record::Syscall(syscall(Some(1_500))))
        );
        // A 1.1 record with one byte more that happens to read as a
        // duration is still an extra byte.
        let mut extra = old.to_vec();
        extra.push(1);
        assert_eq!(
            decode(&extra, 1),
            Err(Some(DamageReason::TrailingBytes { extra: 1 }))
        );
    }

    fn exit(ending: Ending) -> Record {
        Record::Exit(crate::record::ExitRecord {
            seq: 4,
            cage: 3,
            status: 137,
            process: true,
            time_us: 9,
            ending,
        })
    }

    #[test]
    fn an_exit_before_1_4_reads_as_called() {
        let now = postcard::to_stdvec(&exit(Ending::Called)).unwrap();
        assert_eq!(now[0], EXIT_TAG);
        // The 1.3 layout: the same bytes without the last field.
        let old = &now[..now.len() - 1];
        for minor in [0, 2, 3] {
            assert_eq!(decode(old, minor), Ok(exit(Ending::Called)));
            assert!(decode(&now, minor).is_err(), "1.{minor} with an extra byte");
        }
        assert!(decode(old, ENDING_MINOR).is_err(), "1.4 needs the field");
        let killed = postcard::to_stdvec(&exit(Ending::Killed(9))).unwrap();
        assert_eq!(decode(&killed, ENDING_MINOR), Ok(exit(Ending::Killed(9))));
        // A 1.3 exit with one byte more that reads as an ending is damage.
        let mut extra = old.to_vec();
        extra.push(1);
        assert_eq!(
            decode(&extra, 3),
            Err(Some(DamageReason::TrailingBytes { extra: 1 }))
        );
    }
}
