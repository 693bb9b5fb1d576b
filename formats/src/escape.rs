//! Byte strings for people: how tools and error messages show paths and
//! buffers.

use std::fmt::Write;

/// `data` with C-style escapes: printable ASCII as is, `\n`, `\t`, `\r`,
/// `\0`, `\"` and `\\` by name, every other byte as `\xNN`. Reversible, and
/// never longer than four characters per byte.
pub fn escape_bytes(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for &b in data {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0 => out.push_str("\\0"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_quotes_and_high_bytes() {
        assert_eq!(
            escape_bytes(b"hi\n\"x\"\\\0\xff"),
            "hi\\n\\\"x\\\"\\\\\\0\\xff"
        );
    }
}
