//! The file header: who wrote the log, for which ABI, when, and for what
//! command line.

use serde::{Deserialize, Serialize};

use crate::compress::Codec;
use crate::frame::{self, COMPRESSION_MINOR, FORMAT_MAJOR, FORMAT_MINOR, MAGIC};

/// The header at the start of every log (SPEC.md, "File").
///
/// On disk the magic and version come first as fixed bytes, so a reader
/// can refuse an unknown major version before it decodes anything else;
/// the other fields follow in one framed postcard payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHeader {
    /// Always [`MAGIC`].
    pub magic: [u8; 8],
    /// The format major version; readers refuse one they do not know.
    pub major: u16,
    /// The format minor version; readers accept newer ones.
    pub minor: u16,
    /// The program that wrote the log (`tee-grate`).
    pub writer: String,
    /// Its version.
    pub writer_version: String,
    /// The ABI of the recorded cages (`lind-wasm32`, `host-wasm32-sim`).
    pub abi: String,
    /// When the log was created, in milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
    /// The recorded command line.
    pub command_line: Vec<String>,
    /// How the log's payloads are compressed (since 1.3).
    pub compression: Codec,
}

/// The framed part of the header, in order. Borrowed so that encoding
/// needs no copies.
#[derive(Serialize)]
struct BodyRef<'a> {
    writer: &'a str,
    writer_version: &'a str,
    abi: &'a str,
    created_unix_ms: u64,
    command_line: &'a [String],
    /// Since 1.1: the CRC of the preamble, so that the version bytes, the
    /// only header bytes outside a frame, are checked too.
    preamble_crc: u32,
}

/// A 1.3 header body: the fields before, then the codec.
#[derive(Serialize)]
struct CompressedBodyRef<'a> {
    plain: BodyRef<'a>,
    compression: Codec,
}

#[derive(Deserialize)]
struct Body {
    writer: String,
    writer_version: String,
    abi: String,
    created_unix_ms: u64,
    command_line: Vec<String>,
}

impl LogHeader {
    /// A header for this crate's format version, created now by the system
    /// clock.
    #[cfg(not(target_os = "wasi"))]
    pub fn new(writer: &str, version: &str, abi: &str, command_line: Vec<String>) -> LogHeader {
        use std::time::{SystemTime, UNIX_EPOCH};
        let created_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        LogHeader::created_at(writer, version, abi, command_line, created_unix_ms)
    }

    /// A header for this crate's format version, created at
    /// `created_unix_ms` (milliseconds since the Unix epoch).
    pub fn created_at(
        writer: &str,
        version: &str,
        abi: &str,
        command_line: Vec<String>,
        created_unix_ms: u64,
    ) -> LogHeader {
        LogHeader {
            magic: MAGIC,
            major: FORMAT_MAJOR,
            minor: FORMAT_MINOR,
            writer: writer.to_owned(),
            writer_version: version.to_owned(),
            abi: abi.to_owned(),
            created_unix_ms,
            command_line,
            compression: Codec::None,
        }
    }

    /// This header for a log whose payloads `codec` compresses.
    pub fn compressed(mut self, codec: Codec) -> LogHeader {
        self.compression = codec;
        self
    }

    /// The header's bytes: preamble, then one frame. `None` if the body is
    /// larger than a frame may be.
    pub(crate) fn encode(&self) -> Option<Vec<u8>> {
        let body = BodyRef {
            writer: &self.writer,
            writer_version: &self.writer_version,
            abi: &self.abi,
            created_unix_ms: self.created_unix_ms,
            command_line: &self.command_line,
            preamble_crc: preamble_crc(self.major, self.minor),
        };
        let flagged = self.compression != Codec::None;
        let payload = if flagged {
            postcard::to_stdvec(&CompressedBodyRef {
                plain: body,
                compression: self.compression,
            })
        } else {
            postcard::to_stdvec(&body)
        }
        .ok()?;
        let mut out = frame::encode_preamble(self.major, self.minor).to_vec();
        frame::append_frame(&mut out, &payload, flagged)?;
        Some(out)
    }

    /// The header from a checked preamble version and a header frame's
    /// payload. From minor 1 on the payload ends its 1.0 fields with the
    /// preamble's CRC, which must match the version read (a 1.0 header has
    /// none, and nothing after its fields); bytes after it are a newer
    /// minor's fields and are ignored.
    pub(crate) fn decode(major: u16, minor: u16, payload: &[u8]) -> Result<LogHeader, HeaderError> {
        let (body, rest): (Body, _) =
            postcard::take_from_bytes(payload).map_err(|e| HeaderError::Bad(e.to_string()))?;
        let (stored, rest) = match postcard::take_from_bytes::<u32>(rest) {
            Ok((crc, rest)) => (Some(crc), rest),
            Err(_) => (None, rest),
        };
        let expected = preamble_crc(major, minor);
        match stored {
            Some(crc) if crc != expected => {
                return Err(HeaderError::Bad(format!(
                    "the version bytes ({major}.{minor}) do not match the header's checksum"
                )))
            }
            None if minor >= 1 || !rest.is_empty() => {
                return Err(HeaderError::Bad(format!(
                    "the header claims version {major}.{minor} but has no preamble checksum"
                )))
            }
            _ => {}
        }
        let compression = match rest {
            [] => Codec::None,
            _ if minor < COMPRESSION_MINOR => Codec::None,
            _ => postcard::take_from_bytes::<Codec>(rest)
                .map(|(codec, _)| codec)
                .map_err(|_| {
                    HeaderError::UnknownCodec(format!(
                        "the log is compressed with a codec this reader does not know \
                         (format {major}.{minor}): a newer tee-log may read it"
                    ))
                })?,
        };
        Ok(LogHeader {
            magic: MAGIC,
            major,
            minor,
            writer: body.writer,
            writer_version: body.writer_version,
            abi: body.abi,
            created_unix_ms: body.created_unix_ms,
            command_line: body.command_line,
            compression,
        })
    }
}

/// Why a header frame's payload is not a header this reader can use.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// It is damaged.
    Bad(String),
    /// It names a codec this reader does not know: a newer writer's.
    UnknownCodec(String),
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::Bad(why) | HeaderError::UnknownCodec(why) => f.write_str(why),
        }
    }
}

/// The CRC of the preamble for `major.minor`.
fn preamble_crc(major: u16, minor: u16) -> u32 {
    crc32fast::hash(&frame::encode_preamble(major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{check_candidate, Candidate, PREAMBLE_BYTES};

    #[test]
    fn header_round_trips() {
        let h = LogHeader::new("tee-grate", "0.1.0", "lind-wasm32", vec!["demo".into()]);
        assert!(h.created_unix_ms > 0);
        let bytes = h.encode().unwrap();
        assert_eq!(&bytes[..8], b"TEEGRATE");
        let Candidate::Valid {
            header, payload, ..
        } = check_candidate(&bytes[PREAMBLE_BYTES..])
        else {
            panic!("header frame invalid");
        };
        assert_eq!(PREAMBLE_BYTES + header + payload, bytes.len());
        let body = &bytes[PREAMBLE_BYTES + header..];
        assert_eq!(LogHeader::decode(1, FORMAT_MINOR, body).unwrap(), h);
        let other_minor = LogHeader::decode(1, FORMAT_MINOR + 1, body).unwrap_err();
        assert!(
            matches!(&other_minor, HeaderError::Bad(why) if why.contains("do not match")),
            "{other_minor}"
        );
    }

    #[test]
    fn a_compressed_log_has_a_flagged_header_frame() {
        let plain = LogHeader::new("tee-grate", "0.1.0", "lind-wasm32", vec![]);
        for codec in [Codec::Lz4, Codec::Zstd] {
            let h = plain.clone().compressed(codec);
            let bytes = h.encode().unwrap();
            assert_eq!(u16::from_le_bytes([bytes[10], bytes[11]]), FORMAT_MINOR);
            // A 1.2 reader takes only F9 1C for a frame: it refuses here.
            assert_eq!(&bytes[12..14], &[0xF9, 0x1D]);
            let Candidate::Valid {
                header,
                payload,
                flagged: true,
            } = check_candidate(&bytes[PREAMBLE_BYTES..])
            else {
                panic!("header frame invalid or unflagged");
            };
            let body = &bytes[PREAMBLE_BYTES + header..PREAMBLE_BYTES + header + payload];
            assert_eq!(LogHeader::decode(1, FORMAT_MINOR, body).unwrap(), h);
        }
        assert_eq!(plain.clone().compressed(Codec::None), plain);
    }

    #[test]
    fn an_unknown_codec_is_refused_by_name() {
        let h = LogHeader::new("t", "0", "a", vec![]).compressed(Codec::Lz4);
        let bytes = h.encode().unwrap();
        let Candidate::Valid {
            header, payload, ..
        } = check_candidate(&bytes[PREAMBLE_BYTES..])
        else {
            panic!("header frame invalid");
        };
        let mut body = bytes[PREAMBLE_BYTES + header..PREAMBLE_BYTES + header + payload].to_vec();
        *body.last_mut().unwrap() = 9;
        let error = LogHeader::decode(1, FORMAT_MINOR, &body).unwrap_err();
        assert!(
            matches!(&error, HeaderError::UnknownCodec(why) if why.contains("codec")),
            "{error}"
        );
    }
}
