//! The physical memory map from /proc/iomem: where System RAM is, and which
//! parts of it the running kernel has marked reserved (firmware tables, the
//! memblock reservations of the running kernel, a crash kernel), so that the
//! segments of the next kernel are placed only where nothing must survive.
//!
//! Format (kernel/resource.c, r_show): one resource per line,
//! `<indent>START-END : NAME`, START and END inclusive hex, two spaces of
//! indent per nesting level. Without CAP_SYS_ADMIN every address reads 0.

/// A half-open physical range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub fn overlaps(&self, o: &Range) -> bool {
        self.start < o.end && o.start < self.end
    }

    pub fn contains(&self, o: &Range) -> bool {
        self.start <= o.start && o.end <= self.end
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}-{:#x}", self.start, self.end)
    }
}

/// System RAM and the reserved ranges inside or beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryMap {
    /// Top-level `System RAM`, sorted.
    pub ram: Vec<Range>,
    /// Every `reserved` and `Crash kernel` range at any depth, sorted.
    pub reserved: Vec<Range>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IomemError {
    #[error("/proc/iomem line {line}: cannot read {text:?}")]
    BadLine { line: usize, text: String },
    #[error("/proc/iomem lists no System RAM")]
    NoRam,
    #[error("/proc/iomem shows every address as 0: it must be read as root (CAP_SYS_ADMIN)")]
    Hidden,
}

/// Names of ranges that must not be overwritten.
const RESERVED_NAMES: [&str; 2] = ["reserved", "Crash kernel"];

/// Parse the text of /proc/iomem.
pub fn parse(text: &str) -> Result<MemoryMap, IomemError> {
    let mut map = MemoryMap::default();
    let mut any_nonzero = false;
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let bad = || IomemError::BadLine { line: i.saturating_add(1), text: raw.to_string() };
        let top = !raw.starts_with(' ');
        let (span, name) = raw.trim_start().split_once(" : ").ok_or_else(bad)?;
        let (a, b) = span.split_once('-').ok_or_else(bad)?;
        let start = u64::from_str_radix(a, 16).map_err(|_| bad())?;
        let last = u64::from_str_radix(b, 16).map_err(|_| bad())?;
        if last < start {
            return Err(bad());
        }
        any_nonzero |= last != 0;
        // END is inclusive; a range ending at u64::MAX stops one byte short.
        let r = Range { start, end: last.saturating_add(1) };
        let name = name.trim();
        if top && name == "System RAM" {
            map.ram.push(r);
        } else if RESERVED_NAMES.contains(&name) {
            map.reserved.push(r);
        }
    }
    if !any_nonzero && !text.trim().is_empty() {
        return Err(IomemError::Hidden);
    }
    if map.ram.is_empty() {
        return Err(IomemError::NoRam);
    }
    map.ram.sort();
    map.reserved.sort();
    Ok(map)
}

impl MemoryMap {
    /// System RAM minus the reserved ranges, sorted and disjoint.
    pub fn free(&self) -> Vec<Range> {
        let mut out = Vec::new();
        for ram in &self.ram {
            let mut pieces = vec![*ram];
            for res in &self.reserved {
                let mut next = Vec::with_capacity(pieces.len().saturating_add(1));
                for p in pieces {
                    if !p.overlaps(res) {
                        next.push(p);
                        continue;
                    }
                    if p.start < res.start {
                        next.push(Range { start: p.start, end: res.start });
                    }
                    if res.end < p.end {
                        next.push(Range { start: res.end, end: p.end });
                    }
                }
                pieces = next;
            }
            out.extend(pieces);
        }
        out.sort();
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// /proc/iomem of `qemu-system-aarch64 -M virt -m 1024` running Debian's 6.1.
    pub(crate) const VIRT: &str = "\
09000000-09000fff : pl011@9000000
  09000000-09000fff : pl011@9000000
40000000-7fffffff : System RAM
  40210000-4154ffff : Kernel code
  41550000-4186ffff : reserved
  41870000-41d1ffff : Kernel data
  48000000-480fffff : reserved
  7bc00000-7fbfffff : reserved
  7fe9f000-7fffffff : reserved
4010000000-401fffffff : PCI ECAM
";

    #[test]
    fn ram_and_nested_reserved_ranges_are_read() {
        let m = parse(VIRT).unwrap();
        assert_eq!(m.ram, vec![Range { start: 0x4000_0000, end: 0x8000_0000 }]);
        assert_eq!(m.reserved.len(), 4);
        assert_eq!(m.reserved[1], Range { start: 0x4800_0000, end: 0x4810_0000 });
    }

    #[test]
    fn free_memory_is_ram_with_the_reserved_holes_cut_out() {
        let f = parse(VIRT).unwrap().free();
        assert_eq!(
            f,
            vec![
                Range { start: 0x4000_0000, end: 0x4155_0000 },
                Range { start: 0x4187_0000, end: 0x4800_0000 },
                Range { start: 0x4810_0000, end: 0x7bc0_0000 },
                Range { start: 0x7fc0_0000, end: 0x7fe9_f000 },
            ]
        );
    }

    #[test]
    fn top_level_reserved_splits_ram_and_nested_ram_is_not_ram() {
        let t = "40000000-40ffffff : System RAM\n41000000-41ffffff : reserved\n42000000-42ffffff : System RAM\n  42000000-420fffff : System RAM\n";
        let m = parse(t).unwrap();
        assert_eq!(m.ram.len(), 2);
        assert_eq!(m.free().len(), 2);
    }

    #[test]
    fn unprivileged_zeros_and_garbage_are_errors() {
        assert_eq!(parse("00000000-00000000 : System RAM\n"), Err(IomemError::Hidden));
        assert!(matches!(parse("4000-zz : System RAM\n"), Err(IomemError::BadLine { line: 1, .. })));
        assert!(matches!(parse("5000-4000 : System RAM\n"), Err(IomemError::BadLine { .. })));
        assert_eq!(parse("09000000-09000fff : pl011\n"), Err(IomemError::NoRam));
        assert!(parse("ffffffffffffffff-ffffffffffffffff : System RAM\n").is_ok());
    }
}
