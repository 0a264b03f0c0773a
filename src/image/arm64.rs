//! The arm64 Image header, which the arm64 kexec path needs (load offset,
//! effective size, page size). Layout from Documentation/arch/arm64/booting.rst,
//! section 4 "Call the kernel image": 64 bytes, all fields little endian.

use serde::Serialize;

use super::bytes::{has, u32_le, u64_le};
use super::ImageError;

/// 0x08/8 `text_offset`: image load offset.
const TEXT_OFFSET: usize = 0x08;
/// 0x10/8 `image_size`: effective image size (0 before v3.17).
const IMAGE_SIZE: usize = 0x10;
/// 0x18/8 `flags`.
const FLAGS: usize = 0x18;
/// 0x38/4 `magic`: 0x644d5241, "ARM\x64".
pub(crate) const MAGIC: usize = 0x38;
pub(crate) const MAGIC_BYTES: &[u8; 4] = b"ARM\x64";
/// 0x3C/4 `res5`: offset of the PE header when the image has an EFI stub.
const PE_OFFSET: usize = 0x3C;
/// The header's length.
pub const HEADER_LEN: usize = 0x40;

/// booting.rst: "if image_size is zero, text_offset can be assumed to be
/// 0x80000" (kernels older than v3.17).
pub const LEGACY_TEXT_OFFSET: u64 = 0x80000;

/// The arm64 Image header fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arm64Header {
    pub text_offset: u64,
    /// Effective size of the image in memory, 0 on kernels before v3.17.
    pub image_size: u64,
    pub flags: u64,
    /// Offset of the PE header (`res5`), nonzero when the image has an EFI stub.
    pub pe_offset: u32,
}

impl Arm64Header {
    /// `flags` bit 0: kernel endianness (1 = big endian).
    pub fn big_endian(&self) -> bool {
        self.flags & 1 != 0
    }

    /// `flags` bits 1-2: the kernel's page size in bytes, `None` when unspecified.
    pub fn page_size(&self) -> Option<u64> {
        match (self.flags >> 1) & 0b11 {
            1 => Some(4 << 10),
            2 => Some(16 << 10),
            3 => Some(64 << 10),
            _ => None,
        }
    }

    /// `flags` bit 3: the image may be placed anywhere in physical memory (as
    /// opposed to near the base of DRAM).
    pub fn place_anywhere(&self) -> bool {
        self.flags & (1 << 3) != 0
    }

    /// The load offset to use: `text_offset`, or the legacy 0x80000 when
    /// `image_size` is zero.
    pub fn effective_text_offset(&self) -> u64 {
        if self.image_size == 0 {
            LEGACY_TEXT_OFFSET
        } else {
            self.text_offset
        }
    }
}

/// Whether `head` has the arm64 magic at 0x38.
pub fn has_magic(head: &[u8]) -> bool {
    has(head, MAGIC, MAGIC_BYTES)
}

/// Parse the 64-byte arm64 Image header; `NotAKernel` without the magic.
pub fn parse(head: &[u8]) -> Result<Arm64Header, ImageError> {
    const W: &str = "arm64 Image header";
    if head.len() < HEADER_LEN {
        return Err(ImageError::Truncated {
            what: W,
            need: super::bytes::len64(HEADER_LEN),
            have: super::bytes::len64(head.len()),
        });
    }
    if !has_magic(head) {
        return Err(ImageError::NotAKernel);
    }
    Ok(Arm64Header {
        text_offset: u64_le(head, TEXT_OFFSET, W)?,
        image_size: u64_le(head, IMAGE_SIZE, W)?,
        flags: u64_le(head, FLAGS, W)?,
        pe_offset: u32_le(head, PE_OFFSET, W)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_decode_as_booting_rst_says() {
        let mut b = vec![0u8; HEADER_LEN];
        b[MAGIC..MAGIC + 4].copy_from_slice(MAGIC_BYTES);
        b[FLAGS] = 0b1010; // 4K pages, anywhere, little endian
        b[IMAGE_SIZE..IMAGE_SIZE + 8].copy_from_slice(&0x0201_0000u64.to_le_bytes());
        let h = parse(&b).unwrap();
        assert_eq!(h.page_size(), Some(4096));
        assert!(h.place_anywhere());
        assert!(!h.big_endian());
        assert_eq!(h.effective_text_offset(), 0);
        b[FLAGS] = 0b0111;
        b[IMAGE_SIZE..IMAGE_SIZE + 8].copy_from_slice(&0u64.to_le_bytes());
        let h = parse(&b).unwrap();
        assert_eq!(h.page_size(), Some(64 << 10));
        assert!(h.big_endian());
        assert_eq!(h.effective_text_offset(), LEGACY_TEXT_OFFSET);
    }

    #[test]
    fn short_or_unmarked_headers_are_refused() {
        let mut b = vec![0u8; HEADER_LEN];
        assert_eq!(parse(&b), Err(ImageError::NotAKernel));
        b[MAGIC..MAGIC + 4].copy_from_slice(MAGIC_BYTES);
        assert!(matches!(parse(&b[..HEADER_LEN - 1]), Err(ImageError::Truncated { .. })));
    }
}
