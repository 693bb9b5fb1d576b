//! Payload compression (SPEC.md, "Compression"): a log names one codec in
//! its header, and each frame whose payload it shrank carries the
//! compressed flag.
//!
//! A compressed payload is `raw_len` (a varint, the payload's length before
//! compression, 1 ..= MAX_FRAME_LEN) and then the codec's bytes. The reader
//! allocates no more than `raw_len` and refuses a payload that does not
//! decompress to exactly that many bytes, so a crafted frame cannot make it
//! allocate more than a plain frame could.

use crate::frame::MAX_FRAME_LEN;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// zstd's fastest standard level: a recorder compresses on the app's path.
const ZSTD_LEVEL: i32 = 1;

/// How a log's payloads are compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Codec {
    /// Not at all (every log before format 1.3).
    #[default]
    None,
    /// LZ4 block format: fast, modest ratio.
    Lz4,
    /// One Zstandard frame, at level 1.
    Zstd,
}

impl Codec {
    /// The name `--compress` takes and reports print.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }

    /// The codec called `name`.
    pub fn from_name(name: &str) -> Option<Codec> {
        [Codec::None, Codec::Lz4, Codec::Zstd]
            .into_iter()
            .find(|c| c.name() == name)
    }
}

/// Payloads shorter than this are stored plain: a small syscall record
/// (about 25 bytes) has nothing a codec could take out.
pub const COMPRESS_MIN: usize = 64;

/// A log's codec with the state it keeps between payloads: zstd's
/// contexts cost more to set up than a 4 KiB payload costs to compress, so
/// they are made once and handed between threads.
pub(crate) struct Codecs {
    codec: Codec,
    compressors: Mutex<Vec<zstd::bulk::Compressor<'static>>>,
    decompressor: Mutex<Option<zstd::bulk::Decompressor<'static>>>,
}

impl Codecs {
    pub(crate) fn new(codec: Codec) -> Codecs {
        Codecs {
            codec,
            compressors: Mutex::default(),
            decompressor: Mutex::default(),
        }
    }

    pub(crate) fn codec(&self) -> Codec {
        self.codec
    }

    /// `payload` compressed as a frame stores it, or `None` when that
    /// would not make it smaller (or the log has no codec).
    pub(crate) fn compress(&self, payload: &[u8]) -> Option<Vec<u8>> {
        if self.codec == Codec::None || payload.len() < COMPRESS_MIN {
            return None;
        }
        let mut out = Vec::with_capacity(payload.len() / 2 + 16);
        varint(&mut out, payload.len() as u64);
        match self.codec {
            Codec::None => return None,
            Codec::Lz4 => out.extend_from_slice(&lz4_flex::block::compress(payload)),
            Codec::Zstd => {
                let taken = lock(&self.compressors).pop();
                let mut zstd = match taken {
                    Some(z) => z,
                    None => zstd::bulk::Compressor::new(ZSTD_LEVEL).ok()?,
                };
                let body = zstd.compress(payload);
                lock(&self.compressors).push(zstd);
                out.extend_from_slice(&body.ok()?);
            }
        }
        (out.len() < payload.len()).then_some(out)
    }

    /// The length a compressed frame says its payload has, and its codec
    /// bytes; or why that claim cannot be true, before anything of its
    /// size is allocated.
    pub(crate) fn claim<'s>(&self, stored: &'s [u8]) -> Result<(usize, &'s [u8]), String> {
        let (raw_len, body) = postcard::take_from_bytes::<u32>(stored)
            .map_err(|_| "compressed payload without its length".to_string())?;
        if raw_len == 0 || raw_len > MAX_FRAME_LEN {
            return Err(format!(
                "compressed payload claims {raw_len} bytes (1 to {MAX_FRAME_LEN} allowed)"
            ));
        }
        let raw_len = raw_len as usize;
        // An LZ4 block grows at most 255 times (each extra 255 bytes of a
        // match cost one byte).
        if self.codec == Codec::Lz4 && raw_len > body.len().saturating_mul(LZ4_MAX_RATIO) + 16 {
            return Err(format!(
                "compressed payload claims {raw_len} bytes from {}: more than LZ4 expands",
                body.len()
            ));
        }
        Ok((raw_len, body))
    }

    /// The payload a compressed frame holds, or why not.
    pub(crate) fn decompress(&self, stored: &[u8]) -> Result<Vec<u8>, String> {
        let (raw_len, body) = self.claim(stored)?;
        let out = match self.codec {
            Codec::None => return Err("a compressed frame in a log with no codec".into()),
            Codec::Lz4 => lz4_flex::block::decompress(body, raw_len).map_err(|e| e.to_string())?,
            Codec::Zstd => {
                let mut slot = lock(&self.decompressor);
                if slot.is_none() {
                    *slot = Some(zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?);
                }
                let zstd = slot.as_mut().ok_or("no zstd context")?;
                // Its capacity bounds what it writes: no more than raw_len.
                zstd.decompress(body, raw_len).map_err(|e| e.to_string())?
            }
        };
        if out.len() != raw_len {
            return Err(format!(
                "compressed payload decompresses to {} bytes, not the {raw_len} it claims",
                out.len()
            ));
        }
        Ok(out)
    }
}

impl std::fmt::Debug for Codecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codecs")
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

/// The most an LZ4 block expands.
const LZ4_MAX_RATIO: usize = 255;

use abi::sync::lock;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text() -> Vec<u8> {
        b"open(\"/etc/passwd\", O_RDONLY) = 3\n".repeat(40)
    }

    #[test]
    fn both_codecs_shrink_text_and_give_it_back() {
        for codec in [Codec::Lz4, Codec::Zstd] {
            let codecs = Codecs::new(codec);
            let stored = codecs.compress(&text()).expect("text compresses");
            assert!(
                stored.len() < text().len() / 4,
                "{codec:?}: {}",
                stored.len()
            );
            assert_eq!(codecs.decompress(&stored).unwrap(), text());
        }
    }

    #[test]
    fn small_or_incompressible_payloads_stay_plain() {
        assert_eq!(Codecs::new(Codec::Lz4).compress(b"close(3) = 0"), None);
        assert_eq!(Codecs::new(Codec::None).compress(&text()), None);
        // A permutation of every byte value has no repeats to take out.
        let noise: Vec<u8> = (0..=255u8).map(|b| b.wrapping_mul(167)).collect();
        assert_eq!(Codecs::new(Codec::Lz4).compress(&noise), None);
        assert_eq!(Codecs::new(Codec::Zstd).compress(&noise), None);
    }

    #[test]
    fn a_lying_length_is_refused_not_allocated() {
        for codec in [Codec::Lz4, Codec::Zstd] {
            let codecs = Codecs::new(codec);
            let mut stored = codecs.compress(&text()).unwrap();
            // raw_len is the first two bytes (1400 < 16384): claim one more
            // and one fewer.
            stored[0] = stored[0].wrapping_add(1);
            assert!(codecs.decompress(&stored).is_err(), "{codec:?}");
            stored[0] = stored[0].wrapping_sub(2);
            assert!(codecs.decompress(&stored).is_err(), "{codec:?}");
            let huge = [0xff, 0xff, 0xff, 0xff, 0x0f, 0];
            assert!(codecs.decompress(&huge).unwrap_err().contains("allowed"));
            assert!(codecs.decompress(&[]).is_err());
        }
    }

    #[test]
    fn names_round_trip() {
        for codec in [Codec::None, Codec::Lz4, Codec::Zstd] {
            assert_eq!(Codec::from_name(codec.name()), Some(codec));
        }
        assert_eq!(Codec::from_name("gzip"), None);
    }

    proptest! {
        #[test]
        fn decompress_never_panics(codec in prop_oneof![Just(Codec::Lz4), Just(Codec::Zstd)],
                                   bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Codecs::new(codec).decompress(&bytes);
        }

        #[test]
        fn what_compresses_comes_back(codec in prop_oneof![Just(Codec::Lz4), Just(Codec::Zstd)],
                                      unit in proptest::collection::vec(any::<u8>(), 1..20),
                                      times in 4usize..200) {
            let payload = unit.repeat(times);
            let codecs = Codecs::new(codec);
            if let Some(stored) = codecs.compress(&payload) {
                prop_assert_eq!(codecs.decompress(&stored).unwrap(), payload);
            }
        }
    }
}
