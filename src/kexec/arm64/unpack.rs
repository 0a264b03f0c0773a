//! Unpacking a compressed arm64 kernel into the raw Image both load syscalls
//! take (arch/arm64/kernel/kexec_image.c accepts only the Image, and the
//! native path needs its header): a bare gzip, zstd or xz stream (`Image.gz`
//! and friends), or the payload of an EFI zboot image (Fedora's arm64
//! kernels). Pure-Rust decoders (flate2 with miniz_oxide, ruzstd, lzma-rs):
//! no C library in a static binary.

use std::io::Read;

use crate::image::{arm64, compressed, Compression};

/// Larger than any arm64 Image (Debian's is 32 MiB): a stream that unpacks
/// to more is refused rather than filling memory.
pub const MAX_IMAGE: u64 = 512 << 20;

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("the kernel is {0}-compressed; only gzip, zstd and xz kernels are unpacked: load the uncompressed Image")]
    Unsupported(String),
    #[error("the EFI zboot header is unreadable: {0}")]
    Zboot(String),
    #[error("the {what} stream of the kernel is corrupt")]
    Corrupt {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the kernel unpacks to more than {MAX_IMAGE} bytes")]
    TooLarge,
    #[error("the unpacked {what} kernel is not an arm64 Image (no ARM\\x64 magic)")]
    NotAnImage { what: &'static str },
}

fn name(c: Compression) -> String {
    format!("{c:?}").to_lowercase()
}

fn read_capped(r: impl Read, what: &'static str) -> Result<Vec<u8>, UnpackError> {
    let mut out = Vec::new();
    r.take(MAX_IMAGE.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|source| UnpackError::Corrupt { what, source })?;
    if out.len() as u64 > MAX_IMAGE {
        return Err(UnpackError::TooLarge);
    }
    Ok(out)
}

fn decode(data: &[u8], c: Compression) -> Result<Vec<u8>, UnpackError> {
    let out = match c {
        Compression::Gzip => read_capped(flate2::read::GzDecoder::new(data), "gzip")?,
        Compression::Zstd => {
            let d = ruzstd::decoding::StreamingDecoder::new(data).map_err(|e| UnpackError::Corrupt {
                what: "zstd",
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
            })?;
            read_capped(d, "zstd")?
        }
        Compression::Xz => {
            let mut out = Vec::new();
            let mut input = std::io::BufReader::new(data);
            lzma_rs::xz_decompress(&mut input, &mut out).map_err(|e| UnpackError::Corrupt {
                what: "xz",
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
            })?;
            if out.len() as u64 > MAX_IMAGE {
                return Err(UnpackError::TooLarge);
            }
            out
        }
        other => return Err(UnpackError::Unsupported(name(other))),
    };
    Ok(out)
}

/// Whether the compression at the start of `head` is one [`unpack`] handles.
pub fn supported(head: &[u8]) -> Result<(), UnpackError> {
    let c = if compressed::is_zboot(head) {
        let z = compressed::parse_zboot(head).map_err(|e| UnpackError::Zboot(e.to_string()))?;
        z.compression.ok_or(UnpackError::Unsupported(z.compression_type))?
    } else {
        compressed::detect(head).ok_or_else(|| UnpackError::Unsupported("not".into()))?
    };
    match c {
        Compression::Gzip | Compression::Zstd | Compression::Xz => Ok(()),
        other => Err(UnpackError::Unsupported(name(other))),
    }
}

/// The raw Image inside `data`.
pub fn unpack(data: &[u8]) -> Result<Vec<u8>, UnpackError> {
    let (what, image) = if compressed::is_zboot(data) {
        let z = compressed::parse_zboot(data).map_err(|e| UnpackError::Zboot(e.to_string()))?;
        let c = z.compression.ok_or_else(|| UnpackError::Unsupported(z.compression_type.clone()))?;
        let start = usize::try_from(z.payload_offset).map_err(|_| UnpackError::Zboot("offset".into()))?;
        let len = usize::try_from(z.payload_size).map_err(|_| UnpackError::Zboot("size".into()))?;
        let payload = start
            .checked_add(len)
            .and_then(|end| data.get(start..end))
            .ok_or_else(|| UnpackError::Zboot("the payload lies past the end of the file".into()))?;
        ("EFI zboot", decode(payload, c)?)
    } else {
        match compressed::detect(data) {
            Some(c @ (Compression::Gzip | Compression::Zstd | Compression::Xz)) => {
                let what = match c {
                    Compression::Gzip => "gzip",
                    Compression::Zstd => "zstd",
                    _ => "xz",
                };
                (what, decode(data, c)?)
            }
            Some(c) => return Err(UnpackError::Unsupported(name(c))),
            None => return Err(UnpackError::Unsupported("not".into())),
        }
    };
    if !arm64::has_magic(&image) {
        return Err(UnpackError::NotAnImage { what });
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn image() -> Vec<u8> {
        super::super::tests::image(256 << 10, 1 << 20)
    }

    #[test]
    fn gzip_zstd_and_xz_unpack_to_the_image() {
        let img = image();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&img).unwrap();
        assert_eq!(unpack(&gz.finish().unwrap()).unwrap(), img);
        let zst = ruzstd::encoding::compress_to_vec(&img[..], ruzstd::encoding::CompressionLevel::Fastest);
        assert_eq!(unpack(&zst).unwrap(), img);
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut &img[..], &mut xz).unwrap();
        assert_eq!(unpack(&xz).unwrap(), img);
    }

    #[test]
    fn a_zboot_payload_is_unpacked() {
        let img = image();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&img).unwrap();
        let payload = gz.finish().unwrap();
        // drivers/firmware/efi/libstub/zboot-header.S: MZ, "zimg" at 4,
        // payload offset and size at 8 and 12, the compression name at 0x18.
        let mut z = vec![0u8; 0x40];
        z[0..2].copy_from_slice(b"MZ");
        z[4..8].copy_from_slice(b"zimg");
        z[8..12].copy_from_slice(&0x40u32.to_le_bytes());
        z[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        z[0x18..0x1c].copy_from_slice(b"gzip");
        z.extend_from_slice(&payload);
        assert_eq!(unpack(&z).unwrap(), img);
        z[12..16].copy_from_slice(&(payload.len() as u32 + 100).to_le_bytes());
        assert!(unpack(&z).unwrap_err().to_string().contains("past the end"));
    }

    #[test]
    fn truncated_foreign_and_unsupported_streams_are_refused() {
        let head = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/kernels/Image-6.1.0-56-arm64.gz.head"),
        )
        .unwrap();
        assert!(matches!(unpack(&head), Err(UnpackError::Corrupt { what: "gzip", .. })));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"not a kernel at all, just text").unwrap();
        assert!(unpack(&gz.finish().unwrap()).unwrap_err().to_string().contains("not an arm64 Image"));
        let bz = b"BZh91AY&SY....";
        assert!(unpack(bz).unwrap_err().to_string().contains("bzip2-compressed"));
        assert!(supported(&head).is_ok());
        assert!(supported(bz).unwrap_err().to_string().contains("bzip2"));
        assert!(supported(&[0x02, 0x21, 0x4c, 0x18, 0, 0]).unwrap_err().to_string().contains("lz4"));
    }
}
