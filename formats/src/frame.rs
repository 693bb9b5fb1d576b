//! The numbers both directions share, and the byte layout of the file
//! preamble and of a frame (SPEC.md, "File" and "Frame"). The writer and the
//! reader take every constant from here and define none of their own.

use crate::error::DamageReason;

/// The first eight bytes of every log.
pub const MAGIC: [u8; 8] = *b"TEEGRATE";

/// The format major version this crate writes and the only one it reads.
pub const FORMAT_MAJOR: u16 = 1;

/// The format minor version this crate writes; newer minors are read.
pub const FORMAT_MINOR: u16 = 0;

/// The two bytes every frame starts with: the anchor a salvaging reader
/// looks for. 0xF9 never occurs in UTF-8 text, so paths and text buffers
/// do not produce false candidates.
pub const SYNC: [u8; 2] = [0xF9, 0x1C];

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

/// The CRC of a frame: IEEE CRC-32 over the length bytes, then the payload.
pub(crate) fn frame_crc(len_bytes: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len_bytes);
    h.update(payload);
    h.finalize()
}

/// Writes `len` as an unsigned LEB128 varint; returns the bytes used.
fn encode_len(len: u32, out: &mut [u8; MAX_LEN_BYTES]) -> usize {
    let mut v = len;
    for (i, slot) in out.iter_mut().enumerate() {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            *slot = low;
            return i + 1;
        }
        *slot = low | 0x80;
    }
    // Unreachable for len <= MAX_FRAME_LEN; callers check the bound first.
    MAX_LEN_BYTES
}

/// Frames a payload in place. `buf[..MAX_HEADER_BYTES]` is headroom and the
/// payload follows it; the header is written right before the payload and
/// the frame is `buf[start..]`, where `start` is returned. `None` if the
/// payload is empty or longer than [`MAX_FRAME_LEN`].
pub(crate) fn seal_in_place(buf: &mut [u8]) -> Option<usize> {
    let payload_len = buf.len().checked_sub(MAX_HEADER_BYTES)?;
    let len = u32::try_from(payload_len).ok()?;
    if len == 0 || len > MAX_FRAME_LEN {
        return None;
    }
    let mut len_bytes = [0u8; MAX_LEN_BYTES];
    let n = encode_len(len, &mut len_bytes);
    let (head, payload) = buf.split_at_mut(MAX_HEADER_BYTES);
    let crc = frame_crc(&len_bytes[..n], payload);
    let start = MAX_HEADER_BYTES - (SYNC.len() + n + CRC_BYTES);
    let header = &mut head[start..];
    header[..2].copy_from_slice(&SYNC);
    header[2..2 + n].copy_from_slice(&len_bytes[..n]);
    header[2 + n..].copy_from_slice(&crc.to_le_bytes());
    Some(start)
}

/// Appends one frame holding `payload` to `out`; `None` if the payload is
/// empty or too long.
pub(crate) fn append_frame(out: &mut Vec<u8>, payload: &[u8]) -> Option<()> {
    let len = u32::try_from(payload.len()).ok()?;
    if len == 0 || len > MAX_FRAME_LEN {
        return None;
    }
    let mut len_bytes = [0u8; MAX_LEN_BYTES];
    let n = encode_len(len, &mut len_bytes);
    out.extend_from_slice(&SYNC);
    out.extend_from_slice(&len_bytes[..n]);
    out.extend_from_slice(&frame_crc(&len_bytes[..n], payload).to_le_bytes());
    out.extend_from_slice(payload);
    Some(())
}

/// What the bytes at a candidate frame start say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Candidate {
    /// A whole, valid frame: its header and payload sizes.
    Valid { header: usize, payload: usize },
    /// Consistent so far; `total` bytes are needed to decide.
    NeedMore { total: usize },
    /// Not a frame.
    Bad(DamageReason),
}

/// Checks the candidate frame at the start of `window`: marker, then
/// length (canonical varint, 1..=MAX_FRAME_LEN), then CRC. A frame is
/// accepted only when all three hold.
pub(crate) fn check_candidate(window: &[u8]) -> Candidate {
    for (i, want) in SYNC.iter().enumerate() {
        match window.get(i) {
            None => return Candidate::NeedMore { total: i + 1 },
            Some(b) if b != want => return Candidate::Bad(DamageReason::BadMarker),
            Some(_) => {}
        }
    }
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
    let computed = frame_crc(len_field, &frame[header..]);
    if stored != computed {
        return Candidate::Bad(DamageReason::CrcMismatch { stored, computed });
    }
    Candidate::Valid { header, payload }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        append_frame(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn seal_in_place_matches_append_frame() {
        for n in [1usize, 127, 128, 16383, 16384, 70000] {
            let payload: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let mut buf = vec![0u8; MAX_HEADER_BYTES];
            buf.extend_from_slice(&payload);
            let start = seal_in_place(&mut buf).unwrap();
            assert_eq!(&buf[start..], &framed(&payload)[..], "payload of {n}");
        }
    }

    #[test]
    fn empty_and_oversized_payloads_are_refused() {
        assert_eq!(append_frame(&mut Vec::new(), &[]), None);
        let mut buf = vec![0u8; MAX_HEADER_BYTES];
        assert_eq!(seal_in_place(&mut buf), None);
        let mut big = vec![0u8; MAX_HEADER_BYTES + MAX_FRAME_LEN as usize + 1];
        assert_eq!(seal_in_place(&mut big), None);
    }

    #[test]
    fn candidate_checks_marker_length_and_crc() {
        let f = framed(b"abc");
        assert_eq!(
            check_candidate(&f),
            Candidate::Valid {
                header: 7,
                payload: 3
            }
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
