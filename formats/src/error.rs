//! Errors and damage reports. Every one names a byte offset in the log, and
//! those about records name the record index (0-based, header excluded).

use std::fmt;
use std::io;

/// Why a byte range is not a good frame.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DamageReason {
    /// The bytes where a frame should start are not the sync marker.
    BadMarker,
    /// The length field is not a canonical varint of at most 4 bytes.
    BadLength,
    /// The length field is 0 or above `MAX_FRAME_LEN`.
    LengthOutOfBounds {
        /// The length the field claims.
        len: u64,
    },
    /// The frame's CRC does not match its length and payload.
    CrcMismatch {
        /// The CRC stored in the frame.
        stored: u32,
        /// The CRC of the bytes read.
        computed: u32,
    },
    /// The frame runs past the end of the file, yet good frames follow it,
    /// so it is not a torn tail.
    PastEnd,
    /// Another log begins here: two logs were concatenated.
    SecondLog,
    /// The frame is intact but its payload is not a record.
    BadPayload {
        /// What the decoder said.
        detail: String,
    },
    /// The payload holds a record followed by bytes this version does not
    /// expect.
    TrailingBytes {
        /// How many bytes follow the record.
        extra: u64,
    },
    /// A trailer disagrees with what precedes it: records or bytes went
    /// missing without leaving damaged bytes behind.
    TrailerMismatch {
        /// Records the trailer claims.
        records: u64,
        /// Records read before it.
        read: u64,
        /// Bytes the trailer claims.
        bytes: u64,
        /// The offset of the trailer frame.
        offset: u64,
    },
}

impl fmt::Display for DamageReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DamageReason::BadMarker => write!(f, "no sync marker"),
            DamageReason::BadLength => write!(f, "malformed length field"),
            DamageReason::LengthOutOfBounds { len } => {
                write!(f, "length {len} out of bounds")
            }
            DamageReason::CrcMismatch { stored, computed } => {
                write!(
                    f,
                    "crc mismatch (stored {stored:#010x}, computed {computed:#010x})"
                )
            }
            DamageReason::PastEnd => write!(f, "frame runs past the end of the file"),
            DamageReason::SecondLog => {
                write!(f, "a second log's header: two logs were concatenated here")
            }
            DamageReason::BadPayload { detail } => write!(f, "undecodable record: {detail}"),
            DamageReason::TrailingBytes { extra } => {
                write!(f, "{extra} unexpected bytes after the record")
            }
            DamageReason::TrailerMismatch {
                records,
                read,
                bytes,
                offset,
            } => write!(
                f,
                "trailer claims {records} records and {bytes} bytes, \
                 but {read} records and {offset} bytes precede it"
            ),
        }
    }
}

/// A byte range a reader could not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Where the damage starts.
    pub offset: u64,
    /// How many bytes were dropped (0 for a trailer mismatch).
    pub len: u64,
    /// The index the next good record gets.
    pub record_index: u64,
    /// What was wrong at `offset`.
    pub reason: DamageReason,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "offset {} (record {}): {} bytes dropped: {}",
            self.offset, self.record_index, self.len, self.reason
        )
    }
}

/// All the damage a salvaging reader skipped, in constant memory: the first
/// range kept whole, the rest counted, so a file of millions of damaged
/// ranges costs a caller nothing that grows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DamageTally {
    /// The first damaged range.
    pub first: Option<Damage>,
    /// How many ranges there were.
    pub ranges: u64,
    /// How many bytes they dropped.
    pub bytes: u64,
}

impl DamageTally {
    /// Counts one more range.
    pub fn add(&mut self, damage: &Damage) {
        if self.first.is_none() {
            self.first = Some(damage.clone());
        }
        self.ranges += 1;
        self.bytes += damage.len;
    }
}

/// Why a log could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// Reading the underlying file failed; never reported as corruption.
    Io {
        /// Where the reader was.
        offset: u64,
        /// What the OS said.
        source: io::Error,
    },
    /// The file does not start with the log magic.
    BadMagic {
        /// The bytes found (up to 8).
        found: Vec<u8>,
    },
    /// The file's major version is not one this reader knows.
    UnsupportedVersion {
        /// Where the version field is.
        offset: u64,
        /// The major version found.
        major: u16,
        /// The minor version found.
        minor: u16,
    },
    /// The header names a codec this reader does not know (a newer
    /// writer's): not damage, and not readable here.
    UnknownCodec {
        /// Where the header frame starts.
        offset: u64,
        /// What the header says, for people.
        detail: String,
    },
    /// Reading would pass a resource limit the reader was given.
    Limit {
        /// Where the frame that passes it starts.
        offset: u64,
        /// The index the record would have had.
        record_index: u64,
        /// Which limit, and by how much, for people.
        detail: String,
    },
    /// The file ends inside its header: the writer died before the header
    /// reached the disk. There are no records.
    TruncatedHeader {
        /// The file's length.
        len: u64,
    },
    /// The header frame is damaged; nothing after it can be trusted.
    BadHeader {
        /// Where the header frame starts.
        offset: u64,
        /// What is wrong with it.
        reason: DamageReason,
    },
    /// Strict mode met damage; `Salvage` would skip it.
    Corrupt(Damage),
    /// A record comes later than the writer's order promise allows
    /// ([`SEQ_WINDOW`](crate::SEQ_WINDOW)): read in sequence order, it
    /// would already have been passed.
    OutOfOrder {
        /// Where its frame starts.
        offset: u64,
        /// Its index in the file.
        record_index: u64,
        /// Its sequence number.
        seq: u64,
        /// The highest sequence number read before it.
        after: u64,
    },
}

impl ReadError {
    /// The byte offset the error is about, if it has one.
    pub fn offset(&self) -> u64 {
        match self {
            ReadError::Io { offset, .. }
            | ReadError::UnsupportedVersion { offset, .. }
            | ReadError::UnknownCodec { offset, .. }
            | ReadError::Limit { offset, .. }
            | ReadError::BadHeader { offset, .. }
            | ReadError::OutOfOrder { offset, .. } => *offset,
            ReadError::BadMagic { .. } => 0,
            ReadError::TruncatedHeader { len } => *len,
            ReadError::Corrupt(d) => d.offset,
        }
    }

    /// Whether the file's bytes are at fault (not a log, a damaged header
    /// or frame, a header cut short), as opposed to reading them or a
    /// version this reader does not know.
    pub fn is_damage(&self) -> bool {
        match self {
            ReadError::BadMagic { .. }
            | ReadError::BadHeader { .. }
            | ReadError::TruncatedHeader { .. }
            | ReadError::Corrupt(_)
            | ReadError::OutOfOrder { .. } => true,
            ReadError::Io { .. }
            | ReadError::UnsupportedVersion { .. }
            | ReadError::UnknownCodec { .. }
            | ReadError::Limit { .. } => false,
        }
    }

    /// The exit status every tool gives when reading stops at this error
    /// (README, "Exit codes"): 3 for a file whose bytes are at fault (a
    /// header cut short included: no tool can read a log without one), 2
    /// for what is the tool's own (a version or codec it does not know, a
    /// failed read).
    pub fn exit_code(&self) -> u8 {
        if self.is_damage() {
            abi::exit::DAMAGED
        } else {
            abi::exit::FAILED
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { offset, source } => {
                write!(f, "offset {offset}: read failed: {source}")
            }
            ReadError::BadMagic { found } => write!(
                f,
                "offset 0: not a tee-grate log (starts with {})",
                crate::escape_bytes(found)
            ),
            ReadError::UnknownCodec { offset, detail } => write!(f, "offset {offset}: {detail}"),
            ReadError::Limit {
                offset,
                record_index,
                detail,
            } => write!(f, "offset {offset}: record {record_index}: {detail}"),
            ReadError::UnsupportedVersion {
                offset,
                major,
                minor,
            } => write!(
                f,
                "offset {offset}: log format version {major}.{minor} is not supported \
                 (this reader knows major {})",
                crate::FORMAT_MAJOR
            ),
            ReadError::TruncatedHeader { len } => write!(
                f,
                "offset {len}: file ends inside the log header (no records)"
            ),
            ReadError::BadHeader { offset, reason } => {
                write!(f, "offset {offset}: damaged log header: {reason}")
            }
            ReadError::Corrupt(d) => write!(
                f,
                "offset {}: corrupt log at record {}: {}",
                d.offset, d.record_index, d.reason
            ),
            ReadError::OutOfOrder {
                offset,
                record_index,
                seq,
                after,
            } => write!(
                f,
                "offset {offset}: record {record_index} (seq {seq}) comes after seq {after}: \
                 further out of order than a writer may put it ({} sequence numbers)",
                crate::SEQ_WINDOW
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why a writer stopped or dropped a record.
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteError {
    /// The log file could not be created.
    Open {
        /// What the OS said.
        source: io::Error,
    },
    /// The sink failed (ENOSPC, EIO): the writer stopped writing.
    Io {
        /// Bytes of the log the sink had accepted when it failed.
        offset: u64,
        /// The first record not (completely) written.
        record_index: u64,
        /// What the OS said.
        source: io::Error,
    },
    /// A record encodes to more than `MAX_FRAME_LEN`; it was dropped and
    /// writing went on.
    TooLarge {
        /// The index the record would have had.
        record_index: u64,
        /// Its encoded size.
        len: u64,
    },
    /// A record could not be encoded; it was dropped.
    Encode {
        /// The index the record would have had.
        record_index: u64,
        /// What the encoder said.
        detail: String,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Open { source } => write!(f, "cannot create the log: {source}"),
            WriteError::Io {
                offset,
                record_index,
                source,
            } => write!(
                f,
                "offset {offset}: writing record {record_index} failed, recording stopped: {source}"
            ),
            WriteError::TooLarge { record_index, len } => write!(
                f,
                "record {record_index} dropped: {len} bytes exceed the frame limit"
            ),
            WriteError::Encode {
                record_index,
                detail,
            } => write!(f, "record {record_index} dropped: {detail}"),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteError::Io { source, .. } | WriteError::Open { source } => Some(source),
            _ => None,
        }
    }
}
