//! Identification of kernel images by content: pure parsers over `&[u8]` that
//! never panic. Discovery reads the first [`HEAD_LEN`] bytes of a file and asks
//! [`identify`] what it is; [`identify_file`] does that and, for a unified
//! kernel image, also reads the sections that lie beyond the head.
//!
//! One module per format: [`bzimage`] (x86 setup header), [`arm64`] (arm64
//! Image header), [`pe`] (PE headers, UKIs), [`elf`], [`compressed`] (bare
//! compressed streams and EFI zboot); [`file`] holds the only I/O.

// The parsers' promise, checked by `cargo clippy`: no panicking index, no
// unchecked arithmetic, no unwrap on input. Tests may do all of these
// (clippy.toml, and the cfg_attr below).
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Test code computes offsets freely (clippy.toml covers the other lints).
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use serde::Serialize;

pub mod arm64;
mod bytes;
pub mod bzimage;
pub mod compressed;
pub mod elf;
pub mod file;
pub mod pe;

pub use arm64::Arm64Header;
pub use bzimage::SetupHeader;
pub use compressed::ZbootHeader;
pub use file::{identify_file, read_at, read_head, section_bytes, FileError};
pub use pe::PeHeader;

/// How much of a file discovery reads before identifying it. A bzImage's
/// setup sectors (where `kernel_version` lives) and a PE's headers and section
/// table fit in it.
pub const HEAD_LEN: usize = 64 * 1024;

/// What an image file is, as `list --json` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Bzimage,
    Arm64Image,
    /// A PE/EFI executable that is not a UKI and has no bzImage header.
    Pe,
    /// A unified kernel image (UAPI Type 2): PE with `.linux` and friends.
    Uki,
    Elf,
    /// A gzip, zstd, xz, lz4, bzip2 or lzma stream (an arm64 `Image.gz`...).
    Compressed,
    /// EFI zboot: `MZ` then `zimg` at offset 4, a compressed payload inside.
    Zboot,
    Unknown,
}

/// As `list --json` spells it.
impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The same spelling in JSON: [`Format::as_str`] is the only one.
impl Serialize for Format {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Format {
    /// As `list --json` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Bzimage => "bzimage",
            Format::Arm64Image => "arm64-image",
            Format::Pe => "pe",
            Format::Uki => "uki",
            Format::Elf => "elf",
            Format::Compressed => "compressed",
            Format::Zboot => "zboot",
            Format::Unknown => "unknown",
        }
    }
}

/// The machine an image is built for, where the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    X86_64,
    X86,
    Aarch64,
    Arm,
    Riscv64,
    Other,
}

/// The compression of a compressed stream or of a zboot payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Gzip,
    Zstd,
    Xz,
    Lz4,
    Bzip2,
    Lzma,
}

/// A PE section as found in the section table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    pub name: String,
    /// Offset of the section's data in the file.
    pub offset: u64,
    /// Bytes of data in the file (`min(SizeOfRawData, VirtualSize)`).
    pub size: u64,
}

/// What [`identify`] learnt from a file's head.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Identified {
    pub format: Option<Format>,
    pub arch: Option<Arch>,
    /// The release the image says it is (bzImage `kernel_version`'s first word;
    /// a UKI's `.uname`, else its kernel's `kernel_version`).
    pub version: Option<String>,
    /// Longest command line the kernel accepts, without the NUL (bzImage, or
    /// a UKI whose `.linux` is a bzImage).
    pub cmdline_size: Option<u32>,
    pub compression: Option<Compression>,
    /// PE sections (UKIs: `.linux`, `.initrd`, `.cmdline`, `.osrel`, `.uname`).
    pub sections: Vec<Section>,
    /// The x86 setup header (bzImage, or the `.linux` of a UKI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<SetupHeader>,
    /// The arm64 Image header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arm64: Option<Arm64Header>,
    /// The EFI zboot header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zboot: Option<ZbootHeader>,
    /// What a UKI's small sections say (those found in the head; all of
    /// them after [`identify_file`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uki: Option<UkiInfo>,
    /// The file must be at least this long for the image to be whole (the
    /// end of the last PE section, of a bzImage's payload, of a zboot
    /// payload); [`identify_file`] checks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_file_len: Option<u64>,
}

/// The text sections of a unified kernel image (UAPI UKI specification),
/// trimmed of trailing NULs and white space.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct UkiInfo {
    /// `.uname`: the kernel release, as `uname -r` prints it.
    pub uname: Option<String>,
    /// `.cmdline`: the kernel command line the UKI carries.
    pub cmdline: Option<String>,
    /// `.osrel`: the os-release file of the OS the UKI belongs to.
    pub osrel: Option<String>,
    /// What `.linux` holds, once its head has been read.
    pub linux: Option<Format>,
}

impl UkiInfo {
    /// A value of the `.osrel` os-release text (`PRETTY_NAME`, `VERSION_ID`...),
    /// with its quotes removed.
    pub fn os_release(&self, key: &str) -> Option<String> {
        let text = self.osrel.as_deref()?;
        text.lines().find_map(|line| {
            let (k, v) = line.trim().split_once('=')?;
            if k != key {
                return None;
            }
            let v = v.trim();
            let unq = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some(unq.to_string())
        })
    }
}

/// Why a file could not be identified as a kernel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("truncated: {what} needs {need} bytes, the file has {have}")]
    Truncated { what: &'static str, need: u64, have: u64 },
    #[error("not a kernel image (no known header)")]
    NotAKernel,
    #[error("malformed {what}: {why}")]
    Malformed { what: &'static str, why: String },
}

/// The fewest bytes any header we know needs: the arm64 Image header and the
/// MS-DOS header of a PE are 64 bytes. A shorter file with no recognisable
/// magic is reported as truncated (an empty `vmlinuz` left by a full disk).
const MIN_HEADER_LEN: usize = 0x40;

/// Identify an image from its first bytes (at most [`HEAD_LEN`] are needed).
///
/// The order matters: the arm64 and bzImage headers are checked before the PE
/// header because EFI-stub kernels are PE files too, and the header that
/// makes them kernels must win over the `MZ` they start with.
pub fn identify(head: &[u8]) -> Result<Identified, ImageError> {
    identify_at_depth(head, 0)
}

pub(crate) fn identify_at_depth(head: &[u8], depth: u8) -> Result<Identified, ImageError> {
    if arm64::has_magic(head) {
        let h = arm64::parse(head)?;
        return Ok(Identified {
            format: Some(Format::Arm64Image),
            arch: Some(Arch::Aarch64),
            min_file_len: pe_min_file_len(head),
            arm64: Some(h),
            ..Identified::default()
        });
    }
    if compressed::is_zboot(head) {
        let z = compressed::parse_zboot(head)?;
        // The zboot image is a PE whose machine is the kernel's.
        let arch = pe::parse(head).ok().map(|p| p.arch());
        return Ok(Identified {
            format: Some(Format::Zboot),
            arch,
            compression: z.compression,
            min_file_len: Some(u64::from(z.payload_offset).saturating_add(u64::from(z.payload_size))),
            zboot: Some(z),
            ..Identified::default()
        });
    }
    if bzimage::has_setup_header(head) {
        let h = bzimage::parse(head)?;
        // boot.rst, `syssize`: the protected-mode code's size in 16-byte units.
        let payload = h.syssize.map(|s| bytes::len64(h.setup_len()).saturating_add(u64::from(s).saturating_mul(16)));
        return Ok(Identified {
            format: Some(Format::Bzimage),
            arch: Some(if h.is_64bit() { Arch::X86_64 } else { Arch::X86 }),
            version: h.release().map(str::to_string),
            cmdline_size: Some(h.cmdline_size),
            min_file_len: payload.max(pe_min_file_len(head)),
            setup: Some(h),
            ..Identified::default()
        });
    }
    if pe::has_mz(head) {
        // Until the setup header's place is in the head, an EFI-stub bzImage
        // cannot be told from a plain PE.
        let need = bzimage::HEADER_END;
        if head.len() < need {
            return Err(ImageError::Truncated {
                what: "PE or x86 setup header",
                need: bytes::len64(need),
                have: bytes::len64(head.len()),
            });
        }
        let p = pe::parse(head)?;
        let min_file_len = sections_end(&p.sections);
        if !p.is_uki() {
            return Ok(Identified {
                format: Some(Format::Pe),
                arch: Some(p.arch()),
                sections: p.sections,
                min_file_len,
                ..Identified::default()
            });
        }
        let mut id = Identified {
            format: Some(Format::Uki),
            arch: Some(p.arch()),
            min_file_len,
            uki: Some(UkiInfo::default()),
            ..Identified::default()
        };
        for name in [".uname", ".cmdline", ".osrel"] {
            if let Some(data) = p.section(name).and_then(|s| pe::section_in_head(head, s)) {
                set_uki_text(&mut id, name, data);
            }
        }
        if depth == 0 {
            // The kernel's own header, when the head holds it (small UKIs).
            if let Some(s) = p.section(pe::LINUX_SECTION) {
                let start = usize::try_from(s.offset).unwrap_or(usize::MAX);
                let len = usize::try_from(s.size).unwrap_or(usize::MAX);
                let end = start.saturating_add(len).min(head.len());
                if let Some(linux) = head.get(start..end) {
                    if let Ok(inner) = identify_at_depth(linux, depth.saturating_add(1)) {
                        merge_linux(&mut id, inner);
                    }
                }
            }
        }
        id.sections = p.sections;
        return Ok(id);
    }
    if elf::has_magic(head) {
        let h = elf::parse(head)?;
        return Ok(Identified { format: Some(Format::Elf), arch: Some(h.arch), ..Identified::default() });
    }
    if let Some(c) = compressed::detect(head) {
        return Ok(Identified { format: Some(Format::Compressed), compression: Some(c), ..Identified::default() });
    }
    if bytes::has(head, bzimage::BOOT_FLAG, &bzimage::BOOT_FLAG_MAGIC) {
        // A boot sector whose setup header was cut off.
        let need = bzimage::HEADER_END;
        if head.len() < need {
            return Err(ImageError::Truncated {
                what: "x86 setup header",
                need: bytes::len64(need),
                have: bytes::len64(head.len()),
            });
        }
    }
    if head.len() < MIN_HEADER_LEN {
        return Err(ImageError::Truncated {
            what: "kernel image header",
            need: bytes::len64(MIN_HEADER_LEN),
            have: bytes::len64(head.len()),
        });
    }
    Err(ImageError::NotAKernel)
}

/// Store the text of a UKI section.
pub(crate) fn set_uki_text(id: &mut Identified, name: &str, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.trim_end_matches(|c: char| c == '\0' || c.is_whitespace());
    let value = (!text.is_empty()).then(|| text.to_string());
    let uki = id.uki.get_or_insert_with(UkiInfo::default);
    match name {
        ".uname" => {
            uki.uname = value.map(|v| v.trim().to_string());
            if uki.uname.is_some() {
                id.version.clone_from(&uki.uname);
            }
        }
        ".cmdline" => uki.cmdline = value,
        ".osrel" => uki.osrel = value,
        _ => {}
    }
}

/// Fold what the `.linux` section's own header says into a UKI's identity:
/// `.uname` stays the version when present.
pub(crate) fn merge_linux(id: &mut Identified, inner: Identified) {
    if let Some(uki) = id.uki.as_mut() {
        uki.linux = inner.format;
    }
    if id.version.is_none() {
        id.version = inner.version;
    }
    if matches!(id.arch, None | Some(Arch::Other)) {
        id.arch = inner.arch;
    }
    id.cmdline_size = inner.cmdline_size;
    id.setup = inner.setup;
    id.arm64 = inner.arm64;
    id.compression = inner.compression;
}

/// Where the last PE section's data ends, if `head` has a PE header.
fn pe_min_file_len(head: &[u8]) -> Option<u64> {
    pe::parse(head).ok().and_then(|p| sections_end(&p.sections))
}

fn sections_end(sections: &[Section]) -> Option<u64> {
    sections.iter().filter_map(|s| s.offset.checked_add(s.size)).max()
}

#[cfg(test)]
mod tests;
