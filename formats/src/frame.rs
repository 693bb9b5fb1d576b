//! The numbers both directions share, and the byte layout of the file
//! preamble and of a frame (SPEC.md, "File" and "Frame"). The writer and the
//! reader take every constant from here and define none of their own.

use std::ops::Range;

use crate::error::DamageReason;

/// The first eight bytes of every log.
pub const MAGIC: [u8; 8] = *b"TEEGRATE";

/// The format major version this crate writes and the only one it reads.
pub const FORMAT_MAJOR: u16 = 1;

/// The format minor version this crate writes; newer minors are read.
pub const FORMAT_MINOR: u16 = 5;

/// The minor that added compression (SPEC.md, "Compression").
pub const COMPRESSION_MINOR: u16 = 3;

/// The minor that appended `ending` to exit records: a cage can die
/// without calling exit in any run, so every log since is 1.4.
pub const ENDING_MINOR: u16 = 4;

/// The two bytes every frame starts with: the anchor a salvaging reader
/// looks for. 0xF9 never occurs in UTF-8 text, so paths and text buffers
/// do not produce false candidates.
pub const SYNC: [u8; 2] = [0xF9, 0x1C];

/// Bit 0 of the second sync byte (since 1.3): on a record frame, its
/// payload is compressed; on the header frame, the log has a codec, so a
/// reader before 1.3 refuses it there rather than misread it.
pub const COMPRESSED_FLAG: u8 = 0x01;

/// The largest payload a frame may declare (16 MiB). A reader allocates no
/// more than this, and only after the length field has been checked.
pub const MAX_FRAME_LEN: u32 = 16 << 20;

/// The varint of a length up to [`MAX_FRAME_LEN`] takes at most 4 bytes.
pub(crate) const MAX_LEN_BYTES: usize = 4;

/// The CRC is a little-endian u32.
pub(crate) const CRC_BYTES: usize = 4;

/// The most bytes a frame header takes: marker, length, CRC.
pub(crate) const MAX_HEADER_BYTES: usize = SYNC.len() + MAX_LEN_BYTES + CRC_BYTES;

/// Bytes before the header frame: magic, major, minor.
pub(crate) const PREAMBLE_BYTES: usize = MAGIC.len() + 2 + 2;

/// `{ magic (8) | major (u16 LE) | minor (u16 LE) }`, then a frame whose
/// payload is the postcard header body.
pub(crate) fn encode_preamble(major: u16, minor: u16) -> [u8; PREAMBLE_BYTES] {
    let mut out = [0u8; PREAMBLE_BYTES];
    out[..8].copy_from_slice(&MAGIC);
    out[8..10].copy_from_slice(&major.to_le_bytes());
    out[10..12].copy_from_slice(&minor.to_le_bytes());
    out
}

/// The version fields of a preamble whose magic has been checked.
pub(crate) fn decode_version(preamble: &[u8; PREAMBLE_BYTES]) -> (u16, u16) {
    let major = u16::from_le_bytes([preamble[8], preamble[9]]);
    let minor = u16::from_le_bytes([preamble[10], preamble[11]]);
    (major, minor)
}

/// A fresh CRC-32 hasher. `Hasher::new` asks the CPU which instructions
/// it has every time (3 % of the writer bench's cycles, once a frame); a
/// copy of one made once knows already.
pub(crate) fn hasher() -> crc32fast::Hasher {
    static MADE: std::sync::OnceLock<crc32fast::Hasher> = std::sync::OnceLock::new();
    MADE.get_or_init(crc32fast::Hasher::new).clone()
}

/// The CRC of a frame: IEEE CRC-32 over the length bytes, then the payload.
pub(crate) fn frame_crc(len_bytes: &[u8], payload: &[u8]) -> u32 {
    let mut h = hasher();
    h.update(len_bytes);
    h.update(payload);
    h.finalize()
}

/// A frame's header, computed before its payload is laid out: the writer
/// checksums a record outside its lock and copies it in under the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    bytes: [u8; MAX_HEADER_BYTES],
    used: usize,
    payload: usize,
}

impl FrameHeader {
    /// The header for a payload of `len` bytes whose CRC is `crc`.
    fn new(len_bytes: &LenBytes, crc: u32, payload: usize, flagged: bool) -> FrameHeader {
        let mut bytes = [0u8; MAX_HEADER_BYTES];
        let n = len_bytes.used;
        bytes[..2].copy_from_slice(&SYNC);
        bytes[1] |= COMPRESSED_FLAG * u8::from(flagged);
        bytes[2..2 + n].copy_from_slice(len_bytes.as_slice());
        bytes[2 + n..2 + n + CRC_BYTES].copy_from_slice(&crc.to_le_bytes());
        FrameHeader {
            bytes,
            used: 2 + n + CRC_BYTES,
            payload,
        }
    }

    /// The header's bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.used]
    }

    /// Header plus payload.
    pub(crate) fn frame_len(&self) -> usize {
        self.used + self.payload
    }
}

/// A length field: an unsigned LEB128 varint of at most 4 bytes.
pub(crate) struct LenBytes {
    bytes: [u8; MAX_LEN_BYTES],
    used: usize,
}

impl LenBytes {
    /// `None` if `len` is 0 or above [`MAX_FRAME_LEN`].
    pub(crate) fn new(len: usize) -> Option<LenBytes> {
        let len = u32::try_from(len)
            .ok()
            .filter(|&l| l > 0 && l <= MAX_FRAME_LEN)?;
        let mut bytes = [0u8; MAX_LEN_BYTES];
        let mut v = len;
        let mut used = 0;
        for slot in bytes.iter_mut() {
            let low = (v & 0x7f) as u8;
            v >>= 7;
            used += 1;
            if v == 0 {
                *slot = low;
                break;
            }
            *slot = low | 0x80;
        }
        Some(LenBytes { bytes, used })
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.used]
    }

    /// The header, given the CRC of these length bytes and the payload.
    pub(crate) fn header(&self, crc: u32, payload: usize) -> FrameHeader {
        FrameHeader::new(self, crc, payload, false)
    }

    /// [`LenBytes::header`] with the compressed flag set.
    pub(crate) fn flagged_header(&self, crc: u32, payload: usize) -> FrameHeader {
        FrameHeader::new(self, crc, payload, true)
    }
}

/// Appends one frame holding `payload` to `out`, flagged if `flagged`;
/// `None` if the payload is empty or too long.
pub(crate) fn append_frame(out: &mut Vec<u8>, payload: &[u8], flagged: bool) -> Option<()> {
    let len = LenBytes::new(payload.len())?;
    let crc = frame_crc(len.as_slice(), payload);
    out.extend_from_slice(FrameHeader::new(&len, crc, payload.len(), flagged).as_slice());
    out.extend_from_slice(payload);
    Some(())
}

/// What the bytes at a candidate frame start say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Candidate {
    /// A whole, valid frame: its header and payload sizes, and whether
    /// it carries [`COMPRESSED_FLAG`].
    Valid {
        header: usize,
        payload: usize,
        flagged: bool,
    },
    /// Consistent so far; `total` bytes are needed to decide.
    NeedMore { total: usize },
    /// Not a frame.
    Bad(DamageReason),
}

/// Checks the candidate frame at the start of `window`: marker, then
/// length (canonical varint, 1..=MAX_FRAME_LEN), then CRC. A frame is
/// accepted only when all three hold.
pub(crate) fn check_candidate(window: &[u8]) -> Candidate {
    check_candidate_with(window, |len_field, payload| {
        frame_crc(len_field, &window[payload])
    })
}

/// [`check_candidate`], with the frame's CRC computed by `crc` from the
/// length field and the payload's range in `window`, once both are known
/// to be there.
pub(crate) fn check_candidate_with(
    window: &[u8],
    crc: impl FnOnce(&[u8], Range<usize>) -> u32,
) -> Candidate {
    for (i, want) in SYNC.iter().enumerate() {
        // The flag bit is the one bit of the marker that may differ.
        let mask = if i == 1 { !COMPRESSED_FLAG } else { 0xff };
        match window.get(i) {
            None => return Candidate::NeedMore { total: i + 1 },
            Some(b) if b & mask != *want => return Candidate::Bad(DamageReason::BadMarker),
            Some(_) => {}
        }
    }
    let flagged = window[1] & COMPRESSED_FLAG != 0;
    let mut len: u64 = 0;
    let mut len_bytes = 0;
    for i in 0..MAX_LEN_BYTES {
        let pos = SYNC.len() + i;
        let Some(&b) = window.get(pos) else {
            return Candidate::NeedMore { total: pos + 1 };
        };
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // A zero high group would be a second spelling of a shorter length.
            if i > 0 && b == 0 {
                return Candidate::Bad(DamageReason::BadLength);
            }
            len_bytes = i + 1;
            break;
        }
    }
    if len_bytes == 0 {
        return Candidate::Bad(DamageReason::BadLength);
    }
    if len == 0 || len > u64::from(MAX_FRAME_LEN) {
        return Candidate::Bad(DamageReason::LengthOutOfBounds { len });
    }
    let header = SYNC.len() + len_bytes + CRC_BYTES;
    // len <= MAX_FRAME_LEN, so this fits any usize we run on.
    let payload = len as usize;
    let total = header + payload;
    let Some(frame) = window.get(..total) else {
        return Candidate::NeedMore { total };
    };
    let len_field = &frame[SYNC.len()..SYNC.len() + len_bytes];
    let stored = u32::from_le_bytes([
        frame[header - 4],
        frame[header - 3],
        frame[header - 2],
        frame[header - 1],
    ]);
    let computed = crc(len_field, header..total);
    if stored != computed {
        return Candidate::Bad(DamageReason::CrcMismatch { stored, computed });
    }
    Candidate::Valid {
        header,
        payload,
        flagged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        append_frame(&mut out, payload, false).unwrap();
        out
    }

    #[test]
    fn lengths_are_shortest_varints() {
        let enc = |n| LenBytes::new(n).map(|l| l.as_slice().to_vec());
        assert_eq!(enc(1), Some(vec![1]));
        assert_eq!(enc(127), Some(vec![0x7f]));
        assert_eq!(enc(128), Some(vec![0x80, 0x01]));
        assert_eq!(enc(16384), Some(vec![0x80, 0x80, 0x01]));
        assert_eq!(
            enc(MAX_FRAME_LEN as usize),
            Some(vec![0x80, 0x80, 0x80, 0x08])
        );
        assert_eq!(enc(0), None);
        assert_eq!(enc(MAX_FRAME_LEN as usize + 1), None);
    }

    #[test]
    fn empty_payloads_are_refused() {
        assert_eq!(append_frame(&mut Vec::new(), &[], false), None);
    }

    #[test]
    fn appended_frames_validate() {
        for n in [1usize, 127, 128, 16383, 16384, 70000] {
            let payload: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let f = framed(&payload);
            let header = f.len() - n;
            let flagged = false;
            let valid = Candidate::Valid {
                header,
                payload: n,
                flagged,
            };
            assert_eq!(check_candidate(&f), valid);
        }
    }

    #[test]
    fn candidate_checks_marker_length_and_crc() {
        let f = framed(b"abc");
        assert_eq!(
            check_candidate(&f),
            Candidate::Valid {
                header: 7,
                payload: 3,
                flagged: false,
            }
        );
        let mut flagged = f.clone();
        flagged[1] |= COMPRESSED_FLAG;
        assert!(matches!(
            check_candidate(&flagged),
            Candidate::Valid { flagged: true, .. }
        ));
        let mut other = f.clone();
        other[1] ^= 0x02;
        assert_eq!(
            check_candidate(&other),
            Candidate::Bad(DamageReason::BadMarker)
        );
        assert_eq!(check_candidate(&f[..5]), Candidate::NeedMore { total: 10 });
        assert_eq!(check_candidate(&f[..1]), Candidate::NeedMore { total: 2 });
        let mut bad = f.clone();
        bad[0] ^= 1;
        assert_eq!(
            check_candidate(&bad),
            Candidate::Bad(DamageReason::BadMarker)
        );
        let mut bad = f.clone();
        bad[9] ^= 1;
        assert!(matches!(
            check_candidate(&bad),
            Candidate::Bad(DamageReason::CrcMismatch { .. })
        ));
    }

    #[test]
    fn non_canonical_and_huge_lengths_are_refused() {
        let long = [0xF9, 0x1C, 0x83, 0x00, 0, 0, 0, 0, 1, 2, 3];
        assert_eq!(
            check_candidate(&long),
            Candidate::Bad(DamageReason::BadLength)
        );
        let five = [0xF9, 0x1C, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(
            check_candidate(&five),
            Candidate::Bad(DamageReason::BadLength)
        );
        let huge = [0xF9, 0x1C, 0x81, 0x80, 0x80, 0x08];
        assert_eq!(
            check_candidate(&huge),
            Candidate::Bad(DamageReason::LengthOutOfBounds { len: (8 << 21) + 1 })
        );
        let zero = [0xF9, 0x1C, 0x00];
        assert_eq!(
            check_candidate(&zero),
            Candidate::Bad(DamageReason::LengthOutOfBounds { len: 0 })
        );
    }
}
