//! Compressed kernels: a bare compressed stream (an arm64 `Image.gz`, a RISC-V
//! `Image.xz`...) recognised by its format's magic, and EFI zboot images, whose
//! header names the compression of the payload they carry.

use serde::Serialize;

use super::bytes::{has, slice, u32_le};
use super::{Compression, ImageError};

/// The magic each compressed format starts with, as its own specification
/// gives it. lzma ("lzma alone", what the kernel's `cmd_lzma` writes) has no
/// magic and is checked apart in [`is_lzma_alone`].
const MAGICS: &[(&[u8], Compression)] = &[
    // RFC 1952 section 2.3.1: ID1 ID2 = 1f 8b, CM = 8 (deflate).
    (&[0x1f, 0x8b, 0x08], Compression::Gzip),
    // RFC 8878 section 3.1.1: Magic_Number 0xFD2FB528, little endian.
    (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
    // xz file format 1.0.4, 2.1.1.1: Header Magic Bytes.
    (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
    // lz4 legacy frame (what the kernel's `lz4 -l` writes): 0x184C2102.
    (&[0x02, 0x21, 0x4c, 0x18], Compression::Lz4),
    // lz4 frame format: 0x184D2204.
    (&[0x04, 0x22, 0x4d, 0x18], Compression::Lz4),
];

/// The compression of a bare stream at the start of `head`, if any.
pub fn detect(head: &[u8]) -> Option<Compression> {
    for (magic, c) in MAGICS {
        if has(head, 0, magic) {
            return Some(*c);
        }
    }
    if is_bzip2(head) {
        return Some(Compression::Bzip2);
    }
    if is_lzma_alone(head) {
        return Some(Compression::Lzma);
    }
    None
}

/// bzip2: "BZh" then the block size '1'..'9'.
fn is_bzip2(head: &[u8]) -> bool {
    has(head, 0, b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
}

/// The "lzma alone" header has no magic: a properties byte, a little-endian
/// dictionary size and a 64-bit uncompressed size. Accept only what the
/// kernel's build writes (`lzma -9`: properties 0x5d, lc=3 lp=0 pb=2) with a
/// power-of-two dictionary of 4 KiB..1 GiB and a plausible size, so random
/// bytes are not mistaken for a kernel.
fn is_lzma_alone(head: &[u8]) -> bool {
    let Some(hdr) = head.get(0..13) else {
        return false;
    };
    let Ok(dict) = u32_le(hdr, 1, "lzma header") else {
        return false;
    };
    let Ok(size) = slice(hdr, 5, 8, "lzma header") else {
        return false;
    };
    let size = size.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    hdr.first() == Some(&0x5d)
        && dict.is_power_of_two()
        && (1 << 12..=1 << 30).contains(&dict)
        && (size == u64::MAX || size < 1 << 40)
}

/// 0x04/4 zboot image type "zimg" (drivers/firmware/efi/libstub/zboot-header.S).
pub(crate) const ZIMG: usize = 4;
pub(crate) const ZIMG_MAGIC: &[u8; 4] = b"zimg";
/// 0x08/4 payload offset from the start of the file.
const PAYLOAD_OFFSET: usize = 8;
/// 0x0C/4 payload size.
const PAYLOAD_SIZE: usize = 12;
/// 0x18 `.asciz COMP_TYPE`, padded up to the LINUX_PE_MAGIC at 0x38.
const COMP_TYPE: usize = 0x18;
const COMP_TYPE_END: usize = 0x38;

/// An EFI zboot header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZbootHeader {
    pub payload_offset: u32,
    pub payload_size: u32,
    /// As written by the kernel build (drivers/firmware/efi/libstub/Makefile.zboot):
    /// `gzip`, `lz4`, `lzma`, `lzo`, `xzkern`, `zstd22`.
    pub compression_type: String,
    /// The compression, when it is one [`Compression`] knows (not `lzo`).
    pub compression: Option<Compression>,
}

/// Whether `head` is an EFI zboot image: `MZ`, then `zimg` at 4.
pub fn is_zboot(head: &[u8]) -> bool {
    has(head, 0, b"MZ") && has(head, ZIMG, ZIMG_MAGIC)
}

/// Parse the zboot header; `NotAKernel` without the magics.
pub fn parse_zboot(head: &[u8]) -> Result<ZbootHeader, ImageError> {
    const W: &str = "EFI zboot header";
    if !is_zboot(head) {
        return Err(ImageError::NotAKernel);
    }
    let payload_offset = u32_le(head, PAYLOAD_OFFSET, W)?;
    let payload_size = u32_le(head, PAYLOAD_SIZE, W)?;
    if payload_offset.checked_add(payload_size).is_none() {
        return Err(ImageError::Malformed {
            what: W,
            why: format!("payload {payload_offset:#x} + {payload_size:#x} overflows"),
        });
    }
    let field = slice(head, COMP_TYPE, COMP_TYPE_END - COMP_TYPE, W)?;
    let name = field.split(|&b| b == 0).next().unwrap_or(&[]);
    if name.is_empty() || !name.iter().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ImageError::Malformed {
            what: W,
            why: format!("compression type {:?} is not a name", String::from_utf8_lossy(name)),
        });
    }
    let compression_type = String::from_utf8_lossy(name).into_owned();
    let compression = match compression_type.as_str() {
        s if s.starts_with("gzip") => Some(Compression::Gzip),
        s if s.starts_with("zstd") => Some(Compression::Zstd),
        s if s.starts_with("xz") => Some(Compression::Xz),
        s if s.starts_with("lz4") => Some(Compression::Lz4),
        s if s.starts_with("lzma") => Some(Compression::Lzma),
        s if s.starts_with("bzip2") => Some(Compression::Bzip2),
        _ => None,
    };
    Ok(ZbootHeader { payload_offset, payload_size, compression_type, compression })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A zboot header as zboot-header.S lays it out (no PE header behind it).
    pub(crate) fn synthetic_zboot(comp: &str) -> Vec<u8> {
        let mut b = vec![0u8; 0x40];
        b[0..2].copy_from_slice(b"MZ");
        b[ZIMG..ZIMG + 4].copy_from_slice(ZIMG_MAGIC);
        b[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 4].copy_from_slice(&0x1000u32.to_le_bytes());
        b[PAYLOAD_SIZE..PAYLOAD_SIZE + 4].copy_from_slice(&0x0080_0000u32.to_le_bytes());
        b[COMP_TYPE..COMP_TYPE + comp.len()].copy_from_slice(comp.as_bytes());
        b[0x38..0x3c].copy_from_slice(&[0xcd, 0x23, 0x82, 0x81]);
        b
    }

    #[test]
    fn zboot_names_map_to_compressions() {
        for (name, want) in [
            ("gzip", Some(Compression::Gzip)),
            ("zstd22", Some(Compression::Zstd)),
            ("xzkern", Some(Compression::Xz)),
            ("lz4", Some(Compression::Lz4)),
            ("lzma", Some(Compression::Lzma)),
            ("lzo", None),
        ] {
            let h = parse_zboot(&synthetic_zboot(name)).unwrap();
            assert_eq!(h.compression, want, "{name}");
            assert_eq!(h.compression_type, name);
            assert_eq!(h.payload_offset, 0x1000);
        }
    }

    #[test]
    fn zboot_with_garbage_compression_type_is_malformed() {
        let mut b = synthetic_zboot("gzip");
        b[COMP_TYPE] = 0xff;
        assert!(matches!(parse_zboot(&b), Err(ImageError::Malformed { .. })));
        let b = synthetic_zboot("");
        assert!(matches!(parse_zboot(&b), Err(ImageError::Malformed { .. })));
    }

    #[test]
    fn zboot_payload_overflow_is_malformed() {
        let mut b = synthetic_zboot("gzip");
        b[PAYLOAD_SIZE..PAYLOAD_SIZE + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse_zboot(&b), Err(ImageError::Malformed { .. })));
    }

    #[test]
    fn every_magic_is_detected_and_a_flipped_byte_is_not() {
        // (stream start, bytes of it that are magic, compression)
        let samples: &[(&[u8], usize, Compression)] = &[
            (&[0x1f, 0x8b, 0x08, 0x00], 3, Compression::Gzip),
            (&[0x28, 0xb5, 0x2f, 0xfd, 0x00], 4, Compression::Zstd),
            (&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00], 6, Compression::Xz),
            (&[0x02, 0x21, 0x4c, 0x18, 0x00], 4, Compression::Lz4),
            (&[0x04, 0x22, 0x4d, 0x18, 0x00], 4, Compression::Lz4),
            (b"BZh91AY&SY", 4, Compression::Bzip2),
            (&[0x5d, 0, 0, 0, 0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00], 5, Compression::Lzma),
        ];
        for (bytes, magic_len, want) in samples {
            assert_eq!(detect(bytes), Some(*want), "{bytes:x?}");
            for i in 0..*magic_len {
                let mut flipped = bytes.to_vec();
                flipped[i] ^= 0x40;
                assert_ne!(detect(&flipped), Some(*want), "flip {i} of {bytes:x?}");
            }
        }
    }

    #[test]
    fn lzma_alone_needs_a_plausible_dictionary() {
        let mut b = [0x5d, 0, 0, 0, 0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(detect(&b), Some(Compression::Lzma));
        b[1] = 1; // 64 MiB + 1: not a power of two
        assert_eq!(detect(&b), None);
        assert_eq!(detect(&b[..12]), None);
    }
}
