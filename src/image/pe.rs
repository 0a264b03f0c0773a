//! PE/COFF headers and section table, read from a file's head only: enough to
//! tell a unified kernel image (a PE with a `.linux` section) from another EFI
//! executable, to name its machine, and to locate its sections in the file.
//! Offsets from the Microsoft PE Format specification ("MS-DOS Stub", "COFF
//! File Header", "Optional Header", "Section Table"); section names from the
//! UAPI Unified Kernel Image specification.

use goblin::pe::header::{
    CoffHeader, COFF_MACHINE_ARM, COFF_MACHINE_ARM64, COFF_MACHINE_ARMNT, COFF_MACHINE_RISCV64, COFF_MACHINE_THUMB,
    COFF_MACHINE_X86, COFF_MACHINE_X86_64,
};
use serde::Serialize;

use super::bytes::{has, slice, u16_le, u32_le};
use super::{Arch, ImageError, Section};

/// "MS-DOS Stub": at 0x3C, the file offset of the PE signature.
const E_LFANEW: usize = 0x3C;
/// "Signature (Image Only)": "PE\0\0".
const PE_SIGNATURE: &[u8; 4] = b"PE\0\0";
/// "COFF File Header (Object and Image)": 20 bytes.
const COFF_HEADER_LEN: usize = 20;
/// "Optional Header Standard Fields": magic 0x10b (PE32) or 0x20b (PE32+).
const PE32_MAGIC: u16 = 0x10b;
const PE32PLUS_MAGIC: u16 = 0x20b;
/// "Section Table (Section Headers)": 40 bytes each.
const SECTION_HEADER_LEN: usize = 40;

/// The UKI section holding the kernel (UAPI UKI specification).
pub const LINUX_SECTION: &str = ".linux";

/// What the PE headers say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeHeader {
    /// COFF `Machine`, e.g. 0x8664 (x86-64), 0xaa64 (arm64).
    pub machine: u16,
    pub sections: Vec<Section>,
}

impl PeHeader {
    pub fn arch(&self) -> Arch {
        machine_arch(self.machine)
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// A unified kernel image: it carries the kernel in `.linux`.
    pub fn is_uki(&self) -> bool {
        self.section(LINUX_SECTION).is_some()
    }
}

/// The architecture of a COFF `Machine` value.
pub fn machine_arch(machine: u16) -> Arch {
    match machine {
        COFF_MACHINE_X86_64 => Arch::X86_64,
        COFF_MACHINE_X86 => Arch::X86,
        COFF_MACHINE_ARM64 => Arch::Aarch64,
        COFF_MACHINE_ARM | COFF_MACHINE_THUMB | COFF_MACHINE_ARMNT => Arch::Arm,
        COFF_MACHINE_RISCV64 => Arch::Riscv64,
        _ => Arch::Other,
    }
}

/// Whether `head` starts like a PE image ("MZ").
pub fn has_mz(head: &[u8]) -> bool {
    has(head, 0, b"MZ")
}

/// Parse the PE headers and the section table, which must lie in `head`.
/// `NotAKernel` when there is no PE signature (a DOS program, or not a PE).
pub fn parse(head: &[u8]) -> Result<PeHeader, ImageError> {
    const W: &str = "PE header";
    if !has_mz(head) {
        return Err(ImageError::NotAKernel);
    }
    let lfanew = usize::try_from(u32_le(head, E_LFANEW, W)?)
        .map_err(|_| ImageError::Malformed { what: W, why: "PE header offset does not fit in memory".to_string() })?;
    let sig = slice(head, lfanew, PE_SIGNATURE.len(), "PE signature")?;
    if sig != PE_SIGNATURE {
        return Err(ImageError::NotAKernel);
    }
    let coff_off = add(lfanew, PE_SIGNATURE.len(), W)?;
    // Bounds first, with our error; goblin then reads within them.
    slice(head, coff_off, COFF_HEADER_LEN, "COFF header")?;
    let mut off = coff_off;
    let coff = CoffHeader::parse(head, &mut off)
        .map_err(|e| ImageError::Malformed { what: "COFF header", why: e.to_string() })?;
    let opt_len = usize::from(coff.size_of_optional_header);
    if opt_len < 2 {
        return Err(ImageError::Malformed {
            what: "PE optional header",
            why: format!("size {opt_len}: an image has an optional header"),
        });
    }
    let magic = u16_le(head, off, "PE optional header")?;
    if magic != PE32_MAGIC && magic != PE32PLUS_MAGIC {
        return Err(ImageError::Malformed {
            what: "PE optional header",
            why: format!("magic {magic:#x} is neither PE32 nor PE32+"),
        });
    }
    let mut table = add(off, opt_len, W)?;
    let nsect = usize::from(coff.number_of_sections);
    let table_len = nsect.checked_mul(SECTION_HEADER_LEN).ok_or_else(|| overflow(W))?;
    slice(head, table, table_len, "PE section table")?;
    let raw = coff
        .sections(head, &mut table)
        .map_err(|e| ImageError::Malformed { what: "PE section table", why: e.to_string() })?;
    let sections = raw
        .iter()
        .map(|s| {
            let name = match &s.real_name {
                Some(n) => n.clone(),
                None => {
                    let bytes = s.name.split(|&b| b == 0).next().unwrap_or(&[]);
                    String::from_utf8_lossy(bytes).into_owned()
                }
            };
            // The spec: VirtualSize is the size in memory and may exceed
            // SizeOfRawData (zero-filled) or be smaller (file padding); the
            // bytes that are really the section's are the smaller of the two.
            // Some linkers leave VirtualSize zero: then the file size counts.
            let size = if s.virtual_size == 0 { s.size_of_raw_data } else { s.virtual_size.min(s.size_of_raw_data) };
            Section { name, offset: u64::from(s.pointer_to_raw_data), size: u64::from(size) }
        })
        .collect();
    Ok(PeHeader { machine: coff.machine, sections })
}

fn add(a: usize, b: usize, what: &'static str) -> Result<usize, ImageError> {
    a.checked_add(b).ok_or_else(|| overflow(what))
}

fn overflow(what: &'static str) -> ImageError {
    ImageError::Malformed { what, why: "offset overflows".to_string() }
}

/// The bytes of `section` if they lie wholly inside `head`.
pub fn section_in_head<'a>(head: &'a [u8], section: &Section) -> Option<&'a [u8]> {
    let off = usize::try_from(section.offset).ok()?;
    let len = usize::try_from(section.size).ok()?;
    slice(head, off, len, "section").ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal PE32+ image with the given sections (name, file offset,
    /// size) and machine; section data is left zero.
    pub(crate) fn synthetic(machine: u16, sections: &[(&str, u32, u32)]) -> Vec<u8> {
        let lfanew = 0x80usize;
        let opt_len = 0xF0usize;
        let table = lfanew + 4 + COFF_HEADER_LEN + opt_len;
        let mut b = vec![0u8; table + sections.len() * SECTION_HEADER_LEN + 0x200];
        b[0..2].copy_from_slice(b"MZ");
        b[E_LFANEW..E_LFANEW + 4].copy_from_slice(&(lfanew as u32).to_le_bytes());
        b[lfanew..lfanew + 4].copy_from_slice(PE_SIGNATURE);
        let coff = lfanew + 4;
        b[coff..coff + 2].copy_from_slice(&machine.to_le_bytes());
        b[coff + 2..coff + 4].copy_from_slice(&(sections.len() as u16).to_le_bytes());
        b[coff + 16..coff + 18].copy_from_slice(&(opt_len as u16).to_le_bytes());
        let opt = coff + COFF_HEADER_LEN;
        b[opt..opt + 2].copy_from_slice(&PE32PLUS_MAGIC.to_le_bytes());
        for (i, (name, off, size)) in sections.iter().enumerate() {
            let h = table + i * SECTION_HEADER_LEN;
            b[h..h + name.len()].copy_from_slice(name.as_bytes());
            b[h + 8..h + 12].copy_from_slice(&size.to_le_bytes());
            b[h + 16..h + 20].copy_from_slice(&size.next_multiple_of(0x200).to_le_bytes());
            b[h + 20..h + 24].copy_from_slice(&off.to_le_bytes());
        }
        b
    }

    #[test]
    fn sections_come_out_with_offsets_and_true_sizes() {
        let b = synthetic(
            COFF_MACHINE_ARM64,
            &[(".text", 0x400, 0x1000), (".cmdline", 0x2000, 17), (".linux", 0x3000, 0x12345)],
        );
        let pe = parse(&b).unwrap();
        assert_eq!(pe.arch(), Arch::Aarch64);
        assert!(pe.is_uki());
        assert_eq!(pe.section(".cmdline"), Some(&Section { name: ".cmdline".into(), offset: 0x2000, size: 17 }));
        assert_eq!(pe.sections.len(), 3);
    }

    #[test]
    fn section_table_beyond_the_head_is_truncated() {
        let b = synthetic(COFF_MACHINE_X86_64, &[(".text", 0x400, 0x10), (".linux", 0x800, 0x10)]);
        let cut = 0x80 + 4 + COFF_HEADER_LEN + 0xF0 + SECTION_HEADER_LEN + 3;
        assert!(matches!(parse(&b[..cut]), Err(ImageError::Truncated { what: "PE section table", .. })));
    }

    #[test]
    fn huge_section_count_is_truncated_not_allocated() {
        let mut b = synthetic(COFF_MACHINE_X86_64, &[(".text", 0x400, 0x10)]);
        b[0x80 + 6..0x80 + 8].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(parse(&b), Err(ImageError::Truncated { .. })));
    }

    #[test]
    fn mz_without_pe_signature_is_not_a_kernel() {
        let mut b = synthetic(COFF_MACHINE_X86_64, &[]);
        b[0x80] = b'Q';
        assert_eq!(parse(&b), Err(ImageError::NotAKernel));
        let mut b = synthetic(COFF_MACHINE_X86_64, &[]);
        b[E_LFANEW..E_LFANEW + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&b), Err(ImageError::Truncated { .. } | ImageError::Malformed { .. })));
    }

    #[test]
    fn bad_optional_header_magic_is_malformed() {
        let mut b = synthetic(COFF_MACHINE_X86_64, &[]);
        b[0x80 + 4 + COFF_HEADER_LEN] = 0x99;
        assert!(matches!(parse(&b), Err(ImageError::Malformed { .. })));
    }

    #[test]
    fn machines_map_to_arches() {
        assert_eq!(machine_arch(COFF_MACHINE_X86_64), Arch::X86_64);
        assert_eq!(machine_arch(COFF_MACHINE_X86), Arch::X86);
        assert_eq!(machine_arch(COFF_MACHINE_RISCV64), Arch::Riscv64);
        assert_eq!(machine_arch(COFF_MACHINE_ARMNT), Arch::Arm);
        assert_eq!(machine_arch(0x6264), Arch::Other);
    }
}
