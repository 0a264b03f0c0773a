//! Where each segment of the next kernel goes in physical memory, and the
//! checks every segment passes before `kexec_load` sees it.
//!
//! The kernel Image goes at a 2 MiB-aligned base plus its `text_offset`
//! (Documentation/arch/arm64/booting.rst, section 4), reserving `image_size`
//! (its BSS and early page tables lie past the end of the file); the lowest
//! such base in free System RAM is taken, which also satisfies a kernel whose
//! flags ask to sit "as close as possible to the base of DRAM". The initrd,
//! the device tree and the purgatory follow in free RAM above the kernel.

use super::iomem::{MemoryMap, Range};

/// booting.rst: the Image base is 2 MiB aligned.
pub const KERNEL_ALIGN: u64 = 2 << 20;
/// booting.rst: the dtb must not exceed 2 MiB (it is mapped with one block).
pub const DTB_MAX: u64 = 2 << 20;
/// include/linux/kexec.h KEXEC_SEGMENT_MAX.
pub const SEGMENT_MAX: usize = 16;

/// What a segment holds, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Kernel,
    Initrd,
    Dtb,
    Purgatory,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Kernel => "kernel",
            Kind::Initrd => "initrd",
            Kind::Dtb => "device tree",
            Kind::Purgatory => "purgatory",
        }
    }
}

/// One segment as planned: `len` bytes of data in `[mem, mem + memsz)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub kind: Kind,
    pub mem: u64,
    pub memsz: u64,
    pub len: u64,
}

impl Placed {
    pub fn range(&self) -> Range {
        Range { start: self.mem, end: self.mem.saturating_add(self.memsz) }
    }
}

/// What has to be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub page: u64,
    pub kernel_len: u64,
    pub text_offset: u64,
    pub image_size: u64,
    pub initrd_len: Option<u64>,
    pub dtb_len: u64,
    pub purgatory_len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("no free System RAM holds the {what} ({size} bytes{align}): the machine has too little free memory")]
    NoRoom { what: &'static str, size: u64, align: &'static str },
    #[error("the page size {0} is not a power of two")]
    BadPage(u64),
    #[error("segment sizes overflow")]
    Overflow,
    #[error("check failed: the {what} segment {range} is not page aligned (page {page})")]
    Unaligned { what: &'static str, range: Range, page: u64 },
    #[error("check failed: the {what} segment holds {len} bytes but reserves only {memsz}")]
    DataLargerThanSegment { what: &'static str, len: u64, memsz: u64 },
    #[error("check failed: the {what} segment is empty")]
    Empty { what: &'static str },
    #[error("check failed: the {what} segment {range} is not inside one System RAM range")]
    OutsideRam { what: &'static str, range: Range },
    #[error("check failed: the {what} segment {range} overlaps the reserved range {reserved}")]
    OverlapsReserved { what: &'static str, range: Range, reserved: Range },
    #[error("check failed: the {a} segment overlaps the {b} segment")]
    OverlapsSegment { a: &'static str, b: &'static str },
    #[error("check failed: {0} segments, the kernel takes at most {SEGMENT_MAX}")]
    TooManySegments(usize),
    #[error(
        "check failed: the kernel segment at {mem:#x} is not at a 2 MiB-aligned base plus text_offset {text_offset:#x}"
    )]
    KernelMisplaced { mem: u64, text_offset: u64 },
    #[error("check failed: the device tree is {0} bytes, more than booting.rst's 2 MiB, or crosses a 2 MiB boundary")]
    DtbTooLarge(u64),
    #[error("check failed: the entry point {0:#x} is not the start of the purgatory")]
    BadEntry(u64),
}

fn align_up(v: u64, a: u64) -> Option<u64> {
    let m = a.checked_sub(1)?;
    v.checked_add(m).map(|x| x & !m)
}

/// The layout of every segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub kernel: Placed,
    pub initrd: Option<Placed>,
    pub dtb: Placed,
    pub purgatory: Placed,
}

impl Layout {
    pub fn all(&self) -> Vec<Placed> {
        let mut v = vec![self.kernel];
        v.extend(self.initrd);
        v.push(self.dtb);
        v.push(self.purgatory);
        v
    }
}

/// First fit of `size` bytes aligned to `align` in `free` minus `taken`, at or
/// above `min`; when `no_cross` is given the range must not cross a multiple of it.
fn fit(free: &[Range], taken: &[Range], size: u64, align: u64, min: u64, no_cross: Option<u64>) -> Option<u64> {
    for r in free {
        let mut start = align_up(r.start.max(min), align)?;
        loop {
            let end = start.checked_add(size)?;
            if end > r.end {
                break;
            }
            if let Some(c) = no_cross {
                let next = align_up(start.checked_add(1)?, c)?;
                if end > next && start.checked_rem(c) != Some(0) {
                    start = next;
                    continue;
                }
            }
            match taken.iter().find(|t| t.overlaps(&Range { start, end })) {
                Some(t) => start = align_up(t.end, align)?,
                None => return Some(start),
            }
        }
    }
    None
}

/// Place every segment of `req` in the free memory of `map`.
pub fn place(map: &MemoryMap, req: &Request) -> Result<Layout, PlacementError> {
    let page = req.page;
    if !page.is_power_of_two() {
        return Err(PlacementError::BadPage(page));
    }
    let free = map.free();
    let kernel_memsz = align_up(req.kernel_len.max(req.image_size), page).ok_or(PlacementError::Overflow)?;
    let kernel_need = req.text_offset.checked_add(kernel_memsz).ok_or(PlacementError::Overflow)?;
    let base = fit(&free, &[], kernel_need, KERNEL_ALIGN, 0, None).ok_or(PlacementError::NoRoom {
        what: "kernel",
        size: kernel_need,
        align: ", 2 MiB aligned",
    })?;
    let kernel = Placed {
        kind: Kind::Kernel,
        mem: base.checked_add(req.text_offset).ok_or(PlacementError::Overflow)?,
        memsz: kernel_memsz,
        len: req.kernel_len,
    };
    let mut taken = vec![Range { start: base, end: kernel.range().end }];
    let above = kernel.range().end;

    let mut put = |kind: Kind, len: u64, no_cross: Option<u64>| -> Result<Placed, PlacementError> {
        let memsz = align_up(len.max(1), page).ok_or(PlacementError::Overflow)?;
        let at = fit(&free, &taken, memsz, page, above, no_cross)
            .or_else(|| fit(&free, &taken, memsz, page, 0, no_cross))
            .ok_or(PlacementError::NoRoom { what: kind.as_str(), size: memsz, align: "" })?;
        let p = Placed { kind, mem: at, memsz, len };
        taken.push(p.range());
        Ok(p)
    };
    let initrd = match req.initrd_len {
        Some(len) => Some(put(Kind::Initrd, len, None)?),
        None => None,
    };
    if req.dtb_len > DTB_MAX {
        return Err(PlacementError::DtbTooLarge(req.dtb_len));
    }
    let dtb = put(Kind::Dtb, req.dtb_len, Some(DTB_MAX))?;
    let purgatory = put(Kind::Purgatory, req.purgatory_len, None)?;
    let layout = Layout { kernel, initrd, dtb, purgatory };
    check(map, &layout, req.text_offset, page, layout.purgatory.mem)?;
    Ok(layout)
}

/// Every check the segments must pass before the syscall, whoever placed them.
pub fn check(map: &MemoryMap, layout: &Layout, text_offset: u64, page: u64, entry: u64) -> Result<(), PlacementError> {
    let all = layout.all();
    if all.len() > SEGMENT_MAX {
        return Err(PlacementError::TooManySegments(all.len()));
    }
    for s in &all {
        let what = s.kind.as_str();
        let range = s.range();
        if s.memsz == 0 {
            return Err(PlacementError::Empty { what });
        }
        if s.mem.checked_add(s.memsz).is_none() {
            return Err(PlacementError::Overflow);
        }
        if s.mem.checked_rem(page) != Some(0) || s.memsz.checked_rem(page) != Some(0) {
            return Err(PlacementError::Unaligned { what, range, page });
        }
        if s.len > s.memsz {
            return Err(PlacementError::DataLargerThanSegment { what, len: s.len, memsz: s.memsz });
        }
        if !map.ram.iter().any(|r| r.contains(&range)) {
            return Err(PlacementError::OutsideRam { what, range });
        }
        if let Some(res) = map.reserved.iter().find(|r| r.overlaps(&range)) {
            return Err(PlacementError::OverlapsReserved { what, range, reserved: *res });
        }
    }
    for (i, a) in all.iter().enumerate() {
        for b in all.iter().skip(i.saturating_add(1)) {
            if a.range().overlaps(&b.range()) {
                return Err(PlacementError::OverlapsSegment { a: a.kind.as_str(), b: b.kind.as_str() });
            }
        }
    }
    let k = &layout.kernel;
    if k.mem.checked_sub(text_offset).map_or(true, |base| base.checked_rem(KERNEL_ALIGN) != Some(0)) {
        return Err(PlacementError::KernelMisplaced { mem: k.mem, text_offset });
    }
    let d = &layout.dtb;
    let dtb_last = d.mem.saturating_add(d.len.saturating_sub(1));
    if d.len > DTB_MAX || d.mem.checked_div(DTB_MAX) != dtb_last.checked_div(DTB_MAX) {
        return Err(PlacementError::DtbTooLarge(d.len));
    }
    if entry != layout.purgatory.mem {
        return Err(PlacementError::BadEntry(entry));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::iomem::{parse, tests::VIRT};
    use super::*;

    const MIB: u64 = 1 << 20;

    fn req() -> Request {
        Request {
            page: 4096,
            kernel_len: 32 * MIB + 123,
            text_offset: 0,
            image_size: 34 * MIB,
            initrd_len: Some(5 * MIB + 1),
            dtb_len: 0x2000 - 5,
            purgatory_len: 40,
        }
    }

    #[test]
    fn the_kernel_gets_a_2mib_aligned_base_clear_of_reserved_memory() {
        let m = parse(VIRT).unwrap();
        let l = place(&m, &req()).unwrap();
        // 0x40000000 + 34 MiB would cross the reserved 0x41550000; the first
        // 2 MiB boundary after the reserved range is 0x41a00000.
        assert_eq!(l.kernel.mem, 0x41a0_0000);
        assert_eq!(l.kernel.memsz, 34 * MIB);
        let initrd = l.initrd.unwrap();
        assert!(initrd.mem >= l.kernel.range().end);
        assert_eq!(initrd.memsz, 5 * MIB + 4096);
        for s in l.all() {
            for r in &m.reserved {
                assert!(!s.range().overlaps(r), "{s:?} overlaps {r}");
            }
        }
        assert_eq!(l.purgatory.memsz, 4096);
    }

    #[test]
    fn text_offset_is_added_to_the_aligned_base() {
        let m = parse("40000000-7fffffff : System RAM\n").unwrap();
        let l = place(&m, &Request { text_offset: 0x80000, ..req() }).unwrap();
        assert_eq!(l.kernel.mem, 0x4008_0000);
        assert!(l.initrd.unwrap().mem >= 0x4008_0000 + 34 * MIB);
    }

    #[test]
    fn segments_skip_holes_between_ram_ranges() {
        // 38 MiB of RAM, a hole, then more RAM: the initrd does not fit after
        // the kernel in the first range and goes to the second.
        let m = parse("40000000-425fffff : System RAM\n80000000-8fffffff : System RAM\n").unwrap();
        let l = place(&m, &req()).unwrap();
        assert_eq!(l.kernel.mem, 0x4000_0000);
        assert_eq!(l.initrd.unwrap().mem, 0x8000_0000);
        assert!(l.dtb.mem >= 0x4000_0000 + 34 * MIB && l.dtb.mem < 0x4260_0000);
    }

    #[test]
    fn too_small_ram_is_refused_naming_the_segment() {
        let m = parse("40000000-41ffffff : System RAM\n").unwrap();
        let e = place(&m, &req()).unwrap_err();
        assert!(e.to_string().contains("kernel") && e.to_string().contains("2 MiB aligned"), "{e}");
        let m = parse("40000000-425fffff : System RAM\n").unwrap();
        let e = place(&m, &req()).unwrap_err();
        assert_eq!(e, PlacementError::NoRoom { what: "initrd", size: 5 * MIB + 4096, align: "" });
    }

    #[test]
    fn no_initrd_means_three_segments() {
        let m = parse(VIRT).unwrap();
        let l = place(&m, &Request { initrd_len: None, ..req() }).unwrap();
        assert_eq!(l.all().len(), 3);
    }

    #[test]
    fn every_check_names_what_failed() {
        let m = parse(VIRT).unwrap();
        let good = place(&m, &req()).unwrap();
        let entry = good.purgatory.mem;
        let ck = |l: &Layout| check(&m, l, 0, 4096, entry).unwrap_err().to_string();

        let mut l = good.clone();
        l.initrd.as_mut().unwrap().mem = l.kernel.mem + 4096;
        assert!(ck(&l).contains("the kernel segment overlaps the initrd segment"), "{}", ck(&l));
        let mut l = good.clone();
        l.dtb.mem = 0x4800_0000;
        assert!(ck(&l).contains("overlaps the reserved range 0x48000000-0x48100000"), "{}", ck(&l));
        let mut l = good.clone();
        l.dtb.mem = 0x9000_0000;
        assert!(ck(&l).contains("not inside one System RAM range"), "{}", ck(&l));
        let mut l = good.clone();
        l.purgatory.mem += 8;
        assert!(ck(&l).contains("not page aligned"), "{}", ck(&l));
        let mut l = good.clone();
        l.initrd.as_mut().unwrap().len = u64::MAX;
        assert!(ck(&l).contains("reserves only"), "{}", ck(&l));
        let mut l = good.clone();
        l.kernel.mem += 4096;
        l.kernel.memsz -= 4096;
        assert!(ck(&l).contains("2 MiB-aligned base"), "{}", ck(&l));
        assert!(check(&m, &good, 0, 4096, entry + 4).unwrap_err().to_string().contains("entry point"));
        let mut l = good.clone();
        l.dtb.len = 3 * MIB;
        assert!(ck(&l).contains("device tree"), "{}", ck(&l));
        check(&m, &good, 0, 4096, entry).unwrap();
    }

    #[test]
    fn the_dtb_never_crosses_a_2mib_boundary() {
        // Free RAM starts 4 KiB below a 2 MiB boundary: an 8 KiB dtb skips to it.
        let free = [Range { start: 0x421f_f000, end: 0x4400_0000 }];
        assert_eq!(fit(&free, &[], 8192, 4096, 0, Some(DTB_MAX)), Some(0x4220_0000));
        assert_eq!(fit(&free, &[], 4096, 4096, 0, Some(DTB_MAX)), Some(0x421f_f000));
    }
}
