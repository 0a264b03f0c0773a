//! Bounds-checked little-endian readers, so that no parser indexes a slice or
//! adds offsets by hand: every read either succeeds or says what was missing.

use super::ImageError;

/// Widen a length for an error message (`usize` is never wider than 64 bits on
/// the targets Linux runs kexec on).
pub(crate) fn len64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// `len` bytes of `buf` from `off`, or `Truncated` naming `what`.
pub(crate) fn slice<'a>(buf: &'a [u8], off: usize, len: usize, what: &'static str) -> Result<&'a [u8], ImageError> {
    let end = off
        .checked_add(len)
        .ok_or_else(|| ImageError::Malformed { what, why: format!("offset {off:#x} + {len} overflows") })?;
    buf.get(off..end).ok_or(ImageError::Truncated { what, need: len64(end), have: len64(buf.len()) })
}

/// A fixed-size array at `off`.
pub(crate) fn array<const N: usize>(buf: &[u8], off: usize, what: &'static str) -> Result<[u8; N], ImageError> {
    let s = slice(buf, off, N, what)?;
    <[u8; N]>::try_from(s)
        .map_err(|_| ImageError::Malformed { what, why: format!("cannot read {N} bytes at {off:#x}") })
}

pub(crate) fn u8_at(buf: &[u8], off: usize, what: &'static str) -> Result<u8, ImageError> {
    Ok(array::<1>(buf, off, what)?[0])
}

pub(crate) fn u16_le(buf: &[u8], off: usize, what: &'static str) -> Result<u16, ImageError> {
    array(buf, off, what).map(u16::from_le_bytes)
}

pub(crate) fn u32_le(buf: &[u8], off: usize, what: &'static str) -> Result<u32, ImageError> {
    array(buf, off, what).map(u32::from_le_bytes)
}

pub(crate) fn u64_le(buf: &[u8], off: usize, what: &'static str) -> Result<u64, ImageError> {
    array(buf, off, what).map(u64::from_le_bytes)
}

/// Whether `buf` holds exactly `magic` at `off` (false when too short).
pub(crate) fn has(buf: &[u8], off: usize, magic: &[u8]) -> bool {
    off.checked_add(magic.len()).and_then(|end| buf.get(off..end)).is_some_and(|s| s == magic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_end_are_truncated_not_panics() {
        let buf = [1u8, 2, 3];
        assert_eq!(u32_le(&buf, 0, "x"), Err(ImageError::Truncated { what: "x", need: 4, have: 3 }));
        assert_eq!(u16_le(&buf, 1, "x"), Ok(0x0302));
        assert!(matches!(u64_le(&buf, usize::MAX, "x"), Err(ImageError::Malformed { .. })));
        assert!(!has(&buf, usize::MAX, b"ab"));
        assert!(has(&buf, 1, &[2, 3]));
    }
}
