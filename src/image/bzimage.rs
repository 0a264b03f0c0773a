//! The x86 boot protocol's setup header, the part of a bzImage that says which
//! release it is and what the loader may do with it. Offsets and protocol
//! versions are those of Documentation/arch/x86/boot.rst, "The Real-Mode Kernel
//! Header" and "Details of Header Fields".

use serde::Serialize;

use super::bytes::{has, slice, u16_le, u32_le, u64_le, u8_at};
use super::ImageError;

/// 0x1F1/1 `setup_sects`: size of the setup in 512-byte sectors (boot.rst:
/// "If this field is 0, the real value is 4").
const SETUP_SECTS: usize = 0x1F1;
/// 0x1F4/4 `syssize`: size of the protected-mode code in 16-byte paragraphs (2.04+).
const SYSSIZE: usize = 0x1F4;
/// 0x1FE/2 `boot_flag`: 0xAA55.
pub(crate) const BOOT_FLAG: usize = 0x1FE;
pub(crate) const BOOT_FLAG_MAGIC: [u8; 2] = [0x55, 0xAA];
/// 0x202/4 `header`: "HdrS" (protocol 2.00+; older kernels have no header).
pub(crate) const HEADER: usize = 0x202;
pub(crate) const HEADER_MAGIC: &[u8; 4] = b"HdrS";
/// Where "HdrS" ends: a head shorter than this cannot show a setup header.
pub(crate) const HEADER_END: usize = HEADER + HEADER_MAGIC.len();
/// 0x206/2 `version`: boot protocol version, major in the high byte.
const VERSION: usize = 0x206;
/// 0x20E/2 `kernel_version`: pointer to the NUL-terminated version string,
/// less 0x200 (2.00+).
const KERNEL_VERSION: usize = 0x20E;
/// 0x211/1 `loadflags` (2.00+); bit 0 LOADED_HIGH tells a bzImage from a zImage.
const LOADFLAGS: usize = 0x211;
/// 0x22C/4 `initrd_addr_max` (2.03+).
const INITRD_ADDR_MAX: usize = 0x22C;
/// 0x230/4 `kernel_alignment` (2.05+).
const KERNEL_ALIGNMENT: usize = 0x230;
/// 0x234/1 `relocatable_kernel` (2.05+).
const RELOCATABLE_KERNEL: usize = 0x234;
/// 0x236/2 `xloadflags` (2.12+).
const XLOADFLAGS: usize = 0x236;
/// 0x238/4 `cmdline_size` (2.06+): longest command line, without the NUL.
const CMDLINE_SIZE: usize = 0x238;
/// 0x258/8 `pref_address` (2.10+).
const PREF_ADDRESS: usize = 0x258;
/// 0x260/4 `init_size` (2.10+).
const INIT_SIZE: usize = 0x260;

/// boot.rst, `cmdline_size`: "for protocol versions prior to 2.06, the
/// maximum command line size is 255 characters".
pub const OLD_CMDLINE_SIZE: u32 = 255;

/// `loadflags` bit 0: the protected-mode code loads at 0x100000 (bzImage).
pub const LOADED_HIGH: u8 = 1 << 0;
/// `xloadflags` bit 0: the kernel has the legacy 64-bit entry point at 0x200.
pub const XLF_KERNEL_64: u16 = 1 << 0;
/// `xloadflags` bit 1: kernel, boot_params, cmdline and ramdisk may lie above 4G.
pub const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;
/// `xloadflags` bit 3: the kernel supports the 64-bit EFI handoff entry point.
pub const XLF_EFI_HANDOVER_64: u16 = 1 << 3;

/// The setup header fields a loader needs. Fields a protocol version does not
/// have are `None` (or, for `cmdline_size`, the documented default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupHeader {
    /// Setup sectors as stored (0 means 4; see [`SetupHeader::setup_len`]).
    pub setup_sects: u8,
    /// Boot protocol version, e.g. 0x020f for 2.15.
    pub protocol: u16,
    pub loadflags: u8,
    /// 0 before protocol 2.12.
    pub xloadflags: u16,
    /// Longest command line without the NUL (255 before protocol 2.06).
    pub cmdline_size: u32,
    /// The whole `kernel_version` string, e.g.
    /// `6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP ...`.
    pub kernel_version: Option<String>,
    pub syssize: Option<u32>,
    pub initrd_addr_max: Option<u32>,
    pub kernel_alignment: Option<u32>,
    pub relocatable: Option<bool>,
    pub pref_address: Option<u64>,
    pub init_size: Option<u32>,
}

impl SetupHeader {
    /// Bytes of boot sector plus setup code: `(setup_sects + 1) * 512`, with
    /// boot.rst's "if 0, the real value is 4".
    pub fn setup_len(&self) -> usize {
        setup_len(self.setup_sects)
    }

    /// The release, as `uname -r` prints it: the first word of `kernel_version`.
    pub fn release(&self) -> Option<&str> {
        self.kernel_version.as_deref().and_then(|s| s.split_whitespace().next())
    }

    pub fn is_64bit(&self) -> bool {
        self.xloadflags & XLF_KERNEL_64 != 0
    }

    /// Why `kexec_file_load(2)` would refuse this image, if it would: the
    /// checks of `bzImage64_probe()` in arch/x86/kernel/kexec-bzimage64.c.
    pub fn kexec_file_load_problem(&self) -> Option<&'static str> {
        if self.protocol < 0x020C {
            Some("boot protocol older than 2.12 (kexec_file_load needs 2.12)")
        } else if self.loadflags & LOADED_HIGH == 0 {
            Some("a zImage, not a bzImage (LOADED_HIGH not set)")
        } else if self.xloadflags & XLF_KERNEL_64 == 0 {
            Some("not a 64-bit kernel (XLF_KERNEL_64 not set)")
        } else if self.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G == 0 {
            Some("cannot be loaded above 4G (XLF_CAN_BE_LOADED_ABOVE_4G not set)")
        } else {
            None
        }
    }
}

fn setup_len(setup_sects: u8) -> usize {
    let sects = if setup_sects == 0 { 4 } else { usize::from(setup_sects) };
    // At most 256 * 512: cannot overflow.
    sects.saturating_add(1).saturating_mul(512)
}

/// Whether `head` carries the setup header's two magics (boot flag and
/// "HdrS"), whatever comes before them (an EFI stub's `MZ`, a boot sector).
pub fn has_setup_header(head: &[u8]) -> bool {
    has(head, BOOT_FLAG, &BOOT_FLAG_MAGIC) && has(head, HEADER, HEADER_MAGIC)
}

/// Parse the setup header of a bzImage. Returns `NotAKernel` when the magics
/// are missing; `Malformed` when `kernel_version` points outside the setup
/// sectors or its string is not NUL-terminated inside them.
pub fn parse(head: &[u8]) -> Result<SetupHeader, ImageError> {
    const W: &str = "x86 setup header";
    if head.len() < HEADER_END {
        return Err(ImageError::Truncated {
            what: W,
            need: super::bytes::len64(HEADER_END),
            have: super::bytes::len64(head.len()),
        });
    }
    if !has_setup_header(head) {
        return Err(ImageError::NotAKernel);
    }
    let setup_sects = u8_at(head, SETUP_SECTS, W)?;
    let protocol = u16_le(head, VERSION, W)?;
    let loadflags = u8_at(head, LOADFLAGS, W)?;
    let at_least = |v: u16| protocol >= v;
    let opt32 = |v: u16, off: usize| -> Result<Option<u32>, ImageError> {
        if at_least(v) {
            u32_le(head, off, W).map(Some)
        } else {
            Ok(None)
        }
    };
    let syssize = opt32(0x0204, SYSSIZE)?;
    let initrd_addr_max = opt32(0x0203, INITRD_ADDR_MAX)?;
    let kernel_alignment = opt32(0x0205, KERNEL_ALIGNMENT)?;
    let relocatable = if at_least(0x0205) { Some(u8_at(head, RELOCATABLE_KERNEL, W)? != 0) } else { None };
    let xloadflags = if at_least(0x020C) { u16_le(head, XLOADFLAGS, W)? } else { 0 };
    let cmdline_size = opt32(0x0206, CMDLINE_SIZE)?.unwrap_or(OLD_CMDLINE_SIZE);
    let pref_address = if at_least(0x020A) { Some(u64_le(head, PREF_ADDRESS, W)?) } else { None };
    let init_size = opt32(0x020A, INIT_SIZE)?;
    let kernel_version = kernel_version(head, setup_sects)?;
    Ok(SetupHeader {
        setup_sects,
        protocol,
        loadflags,
        xloadflags,
        cmdline_size,
        kernel_version,
        syssize,
        initrd_addr_max,
        kernel_alignment,
        relocatable,
        pref_address,
        init_size,
    })
}

/// The `kernel_version` string: at pointer + 0x200, and boot.rst says the
/// pointer "should be less than (0x200 * setup_sects)", i.e. the string lies in
/// the setup sectors; one that does not is a corrupt or hostile header.
fn kernel_version(head: &[u8], setup_sects: u8) -> Result<Option<String>, ImageError> {
    const W: &str = "bzImage kernel_version";
    let ptr = u16_le(head, KERNEL_VERSION, W)?;
    if ptr == 0 {
        return Ok(None);
    }
    let setup = setup_len(setup_sects);
    let start = usize::from(ptr).saturating_add(0x200);
    if start >= setup {
        return Err(ImageError::Malformed {
            what: W,
            why: format!("pointer {ptr:#x} (+0x200) lies outside the {setup:#x} bytes of setup sectors"),
        });
    }
    // The string may run up to the end of the setup sectors, no further.
    let avail = head.len().min(setup);
    let region = head.get(start..avail).unwrap_or(&[]);
    let Some(nul) = region.iter().position(|&b| b == 0) else {
        if head.len() < setup {
            return Err(ImageError::Truncated {
                what: W,
                need: super::bytes::len64(setup),
                have: super::bytes::len64(head.len()),
            });
        }
        return Err(ImageError::Malformed {
            what: W,
            why: "string not NUL-terminated inside the setup sectors".to_string(),
        });
    };
    let bytes = slice(region, 0, nul, W)?;
    let s = std::str::from_utf8(bytes)
        .map_err(|e| ImageError::Malformed { what: W, why: format!("string is not UTF-8: {e}") })?;
    Ok(Some(s.to_string()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal synthetic setup header: protocol 2.15, 64-bit, the version
    /// string at 0x400 (pointer 0x200), setup_sects 4.
    pub(crate) fn synthetic(version: &str) -> Vec<u8> {
        let mut b = vec![0u8; 5 * 512];
        b[SETUP_SECTS] = 4;
        b[BOOT_FLAG..BOOT_FLAG + 2].copy_from_slice(&BOOT_FLAG_MAGIC);
        b[HEADER..HEADER + 4].copy_from_slice(HEADER_MAGIC);
        b[VERSION..VERSION + 2].copy_from_slice(&0x020Fu16.to_le_bytes());
        b[KERNEL_VERSION..KERNEL_VERSION + 2].copy_from_slice(&0x0200u16.to_le_bytes());
        b[LOADFLAGS] = LOADED_HIGH;
        b[XLOADFLAGS..XLOADFLAGS + 2].copy_from_slice(&(XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G).to_le_bytes());
        b[CMDLINE_SIZE..CMDLINE_SIZE + 4].copy_from_slice(&2047u32.to_le_bytes());
        b[0x400..0x400 + version.len()].copy_from_slice(version.as_bytes());
        b
    }

    #[test]
    fn synthetic_header_gives_release_and_limits() {
        let h = parse(&synthetic("6.9.0-test (me@here) #1")).unwrap();
        assert_eq!(h.release(), Some("6.9.0-test"));
        assert_eq!(h.cmdline_size, 2047);
        assert!(h.is_64bit());
        assert_eq!(h.kexec_file_load_problem(), None);
        assert_eq!(h.setup_len(), 5 * 512);
    }

    #[test]
    fn zero_setup_sects_means_four() {
        let mut b = synthetic("6.9.0");
        b[SETUP_SECTS] = 0;
        let h = parse(&b).unwrap();
        assert_eq!(h.setup_len(), 5 * 512);
        assert_eq!(h.release(), Some("6.9.0"));
    }

    #[test]
    fn version_pointer_past_setup_sectors_is_malformed() {
        let mut b = synthetic("6.9.0");
        // 4 setup sectors: the string must start below 5 * 512.
        b[KERNEL_VERSION..KERNEL_VERSION + 2].copy_from_slice(&0x0800u16.to_le_bytes());
        assert!(matches!(parse(&b), Err(ImageError::Malformed { what: "bzImage kernel_version", .. })));
        // One byte before the end is inside (and holds an empty string).
        b[KERNEL_VERSION..KERNEL_VERSION + 2].copy_from_slice(&0x07FFu16.to_le_bytes());
        assert_eq!(parse(&b).unwrap().release(), None);
        b[KERNEL_VERSION..KERNEL_VERSION + 2].copy_from_slice(&0xFFFFu16.to_le_bytes());
        assert!(matches!(parse(&b), Err(ImageError::Malformed { .. })));
    }

    #[test]
    fn version_string_running_off_the_setup_sectors_is_malformed() {
        let mut b = synthetic("6.9.0");
        for x in &mut b[0x400..] {
            *x = b'x';
        }
        b.extend_from_slice(b"\0 beyond the setup");
        assert!(matches!(parse(&b), Err(ImageError::Malformed { .. })));
    }

    #[test]
    fn version_string_cut_by_the_head_is_truncated() {
        let mut b = synthetic("6.9.0-long-version-string");
        b.truncate(0x404);
        assert!(matches!(parse(&b), Err(ImageError::Truncated { what: "bzImage kernel_version", .. })));
    }

    #[test]
    fn old_protocols_get_the_documented_defaults() {
        let mut b = synthetic("2.6.10");
        b[VERSION..VERSION + 2].copy_from_slice(&0x0204u16.to_le_bytes());
        b[CMDLINE_SIZE..CMDLINE_SIZE + 4].copy_from_slice(&9999u32.to_le_bytes());
        let h = parse(&b).unwrap();
        assert_eq!(h.cmdline_size, OLD_CMDLINE_SIZE);
        assert_eq!(h.xloadflags, 0);
        assert_eq!(h.relocatable, None);
        assert!(h.kexec_file_load_problem().is_some());
    }

    #[test]
    fn zero_version_pointer_means_no_version() {
        let mut b = synthetic("6.9.0");
        b[KERNEL_VERSION..KERNEL_VERSION + 2].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(parse(&b).unwrap().kernel_version, None);
    }

    #[test]
    fn kexec_file_load_refuses_what_bzimage64_probe_refuses() {
        let mut b = synthetic("6.9.0");
        b[LOADFLAGS] = 0;
        assert!(parse(&b).unwrap().kexec_file_load_problem().unwrap().contains("zImage"));
        let mut b = synthetic("6.9.0");
        b[XLOADFLAGS..XLOADFLAGS + 2].copy_from_slice(&XLF_KERNEL_64.to_le_bytes());
        assert!(parse(&b).unwrap().kexec_file_load_problem().unwrap().contains("4G"));
        let mut b = synthetic("6.9.0");
        b[XLOADFLAGS..XLOADFLAGS + 2].copy_from_slice(&0u16.to_le_bytes());
        assert!(parse(&b).unwrap().kexec_file_load_problem().unwrap().contains("64-bit"));
    }
}
