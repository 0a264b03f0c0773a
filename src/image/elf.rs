//! ELF kernels (an uncompressed `vmlinux`, as some distributions and Xen boot
//! them): only the ELF header is read, through goblin, for the machine.

use goblin::elf::header::{
    EI_CLASS, ELFCLASS32, ELFCLASS64, ELFMAG, EM_386, EM_AARCH64, EM_ARM, EM_RISCV, EM_X86_64, ET_DYN, ET_EXEC,
};
use goblin::elf::Elf;

use super::bytes::{has, len64, u8_at};
use super::{Arch, ImageError};

/// Sizes of the ELF header (System V ABI, "ELF Header": `Elf32_Ehdr`, `Elf64_Ehdr`).
const EHDR32_LEN: usize = 52;
const EHDR64_LEN: usize = 64;

/// What the ELF header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfHeader {
    pub machine: u16,
    pub is_64: bool,
    pub arch: Arch,
}

pub fn has_magic(head: &[u8]) -> bool {
    has(head, 0, ELFMAG)
}

/// Parse the ELF header. `NotAKernel` without the magic or when the file is
/// not an executable (a relocatable object or a core dump is no kernel).
pub fn parse(head: &[u8]) -> Result<ElfHeader, ImageError> {
    const W: &str = "ELF header";
    if !has_magic(head) {
        return Err(ImageError::NotAKernel);
    }
    let need = match u8_at(head, EI_CLASS, W)? {
        ELFCLASS32 => EHDR32_LEN,
        ELFCLASS64 => EHDR64_LEN,
        c => {
            return Err(ImageError::Malformed { what: W, why: format!("unknown class {c}") });
        }
    };
    if head.len() < need {
        return Err(ImageError::Truncated { what: W, need: len64(need), have: len64(head.len()) });
    }
    let h = Elf::parse_header(head).map_err(|e| ImageError::Malformed { what: W, why: e.to_string() })?;
    if h.e_type != ET_EXEC && h.e_type != ET_DYN {
        return Err(ImageError::NotAKernel);
    }
    let is_64 = need == EHDR64_LEN;
    let arch = match h.e_machine {
        EM_X86_64 => Arch::X86_64,
        EM_386 => Arch::X86,
        EM_AARCH64 => Arch::Aarch64,
        EM_ARM => Arch::Arm,
        EM_RISCV if is_64 => Arch::Riscv64,
        _ => Arch::Other,
    };
    Ok(ElfHeader { machine: h.e_machine, is_64, arch })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal little-endian ELF64 executable header.
    pub(crate) fn synthetic(machine: u16) -> Vec<u8> {
        let mut b = vec![0u8; EHDR64_LEN];
        b[0..4].copy_from_slice(ELFMAG);
        b[EI_CLASS] = ELFCLASS64;
        b[5] = 1; // ELFDATA2LSB
        b[6] = 1; // EV_CURRENT
        b[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[52..54].copy_from_slice(&(EHDR64_LEN as u16).to_le_bytes());
        b
    }

    #[test]
    fn machine_gives_the_arch() {
        assert_eq!(parse(&synthetic(EM_X86_64)).unwrap().arch, Arch::X86_64);
        assert_eq!(parse(&synthetic(EM_AARCH64)).unwrap().arch, Arch::Aarch64);
        assert_eq!(parse(&synthetic(EM_RISCV)).unwrap().arch, Arch::Riscv64);
        assert_eq!(parse(&synthetic(0x1234)).unwrap().arch, Arch::Other);
    }

    #[test]
    fn objects_bad_classes_and_short_headers_are_refused() {
        let mut b = synthetic(EM_X86_64);
        b[16] = 1; // ET_REL
        assert_eq!(parse(&b), Err(ImageError::NotAKernel));
        let mut b = synthetic(EM_X86_64);
        b[EI_CLASS] = 7;
        assert!(matches!(parse(&b), Err(ImageError::Malformed { .. })));
        let b = synthetic(EM_X86_64);
        assert!(matches!(parse(&b[..63]), Err(ImageError::Truncated { .. })));
    }
}
