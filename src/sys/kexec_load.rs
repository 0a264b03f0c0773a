//! The raw `kexec_load(2)` syscall: the older interface, which takes the
//! segments already laid out in physical memory by the caller. Debian's arm64
//! kernels have no `kexec_file_load` (CONFIG_KEXEC_FILE is off), so this is
//! the only way to load a kernel there.

use nix::errno::Errno;

/// `KEXEC_ARCH_AARCH64` from include/uapi/linux/kexec.h (`EM_AARCH64` 183 << 16):
/// the kernel refuses a load whose architecture field is not its own.
pub const KEXEC_ARCH_AARCH64: u64 = 183 << 16;
/// `KEXEC_ARCH_X86_64` (`EM_X86_64` 62 << 16).
pub const KEXEC_ARCH_X86_64: u64 = 62 << 16;
/// `KEXEC_SEGMENT_MAX` from include/linux/kexec.h.
pub const KEXEC_SEGMENT_MAX: usize = 16;

/// The architecture flag of the running machine, `None` where unknown.
pub fn arch_flag() -> Option<u64> {
    if cfg!(target_arch = "aarch64") {
        Some(KEXEC_ARCH_AARCH64)
    } else if cfg!(target_arch = "x86_64") {
        Some(KEXEC_ARCH_X86_64)
    } else {
        None
    }
}

/// The syscall number of `kexec_load`, from libc, on the architectures whose
/// native load path exists; `None` elsewhere.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const SYS_KEXEC_LOAD: Option<libc::c_long> = Some(libc::SYS_kexec_load);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const SYS_KEXEC_LOAD: Option<libc::c_long> = None;

/// One segment: `buf` is copied by the kernel to physical address `mem`; the
/// rest of `memsz` (page-aligned, at least `buf.len()`) is zeroed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub buf: &'a [u8],
    pub mem: u64,
    pub memsz: u64,
}

/// `struct kexec_segment` of include/uapi/linux/kexec.h, as the kernel reads it.
#[repr(C)]
struct RawSegment {
    buf: *const libc::c_void,
    bufsz: libc::size_t,
    mem: libc::c_ulong,
    memsz: libc::size_t,
}

/// `kexec_load(entry, nr_segments, segments, flags)`. With no segments it
/// unloads. The caller has checked the ranges (see kexec::arm64::segments);
/// the kernel checks them again and fails with an errno, never corrupting memory.
pub fn kexec_load(entry: u64, segments: &[Segment<'_>], flags: u64) -> Result<(), Errno> {
    let Some(nr) = SYS_KEXEC_LOAD else {
        return Err(Errno::ENOSYS);
    };
    if segments.len() > KEXEC_SEGMENT_MAX {
        return Err(Errno::EINVAL);
    }
    let mut raw = Vec::with_capacity(segments.len());
    for s in segments {
        raw.push(RawSegment {
            buf: s.buf.as_ptr().cast(),
            bufsz: s.buf.len(),
            mem: libc::c_ulong::try_from(s.mem).map_err(|_| Errno::EINVAL)?,
            memsz: libc::size_t::try_from(s.memsz).map_err(|_| Errno::EINVAL)?,
        });
    }
    let ptr = if raw.is_empty() { std::ptr::null() } else { raw.as_ptr() };
    // SAFETY: `raw` holds `raw.len()` initialised kexec_segment structs whose
    // `buf` pointers each point to `bufsz` readable bytes borrowed for the
    // duration of the call (the kernel copies them before returning); with no
    // segments the pointer is null and the kernel reads nothing. Nothing in
    // this process is written.
    let ret =
        unsafe { libc::syscall(nr, entry as libc::c_ulong, raw.len() as libc::c_ulong, ptr, flags as libc::c_ulong) };
    Errno::result(ret).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_flag_is_the_elf_machine_shifted_by_16() {
        assert_eq!(KEXEC_ARCH_AARCH64, 0x00b7_0000);
        assert_eq!(KEXEC_ARCH_X86_64, 0x003e_0000);
    }

    #[test]
    fn more_than_sixteen_segments_never_reach_the_kernel() {
        let seg = Segment { buf: &[], mem: 0, memsz: 0 };
        assert_eq!(kexec_load(0, &[seg; 17], 0), Err(Errno::EINVAL));
    }
}
