//! The figures of one filesystem, computed from statvfs(3) exactly as GNU df
//! computes them, so `disk` and `df -B1` agree to the byte.

use std::path::Path;

/// The raw counters of `struct statvfs` that the figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// `f_frsize`: the unit of the block counts.
    pub frsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub favail: u64,
}

/// Why a filesystem's figures could not be had.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("statvfs failed: {0}")]
    Statvfs(#[source] nix::Error),
    #[error("its block counts overflow 64 bits")]
    Overflow,
}

/// Space and inode figures of one filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// `f_blocks * f_frsize`.
    pub size: u64,
    /// `(f_blocks - f_bfree) * f_frsize`.
    pub used: u64,
    /// `f_bavail * f_frsize`: what an ordinary user can still write (the
    /// blocks reserved for root are not free for them).
    pub avail: u64,
    /// Inode figures, `None` when the filesystem has no inode count (`f_files == 0`).
    pub inodes: Option<Inodes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inodes {
    /// `f_files`.
    pub total: u64,
    /// `f_files - f_ffree`.
    pub used: u64,
    /// `f_favail`: inodes an ordinary user can still create.
    pub avail: u64,
}

/// Ask the kernel about the filesystem holding `path`. May block for ever on a
/// dead network or FUSE filesystem: call it through [`super::guard`].
// The counters are 32-bit on some 32-bit targets: the conversions are not useless there.
#[allow(clippy::useless_conversion)]
pub fn statvfs(path: &Path) -> Result<Counters, UsageError> {
    let st = nix::sys::statvfs::statvfs(path).map_err(UsageError::Statvfs)?;
    Ok(Counters {
        frsize: u64::from(st.fragment_size()),
        blocks: u64::from(st.blocks()),
        bfree: u64::from(st.blocks_free()),
        bavail: u64::from(st.blocks_available()),
        files: u64::from(st.files()),
        ffree: u64::from(st.files_free()),
        favail: u64::from(st.files_available()),
    })
}

impl Usage {
    /// The figures df prints for these counters.
    pub fn from_counters(c: &Counters) -> Result<Usage, UsageError> {
        let bytes = |blocks: u64| blocks.checked_mul(c.frsize).ok_or(UsageError::Overflow);
        // Some FUSE filesystems report more free than total blocks; df
        // then shows 0 used, and so do we.
        let inodes =
            (c.files > 0).then(|| Inodes { total: c.files, used: c.files.saturating_sub(c.ffree), avail: c.favail });
        Ok(Usage {
            size: bytes(c.blocks)?,
            used: bytes(c.blocks.saturating_sub(c.bfree))?,
            avail: bytes(c.bavail)?,
            inodes,
        })
    }

    /// Use% as df shows it: `ceil(100 * used / (used + avail))`, `None` when
    /// both are zero.
    pub fn use_percent(&self) -> Option<u8> {
        percent_ceil(self.used, self.avail)
    }

    /// Free space as a percentage of what users can have (`used + avail`),
    /// the complement of [`Usage::use_percent`] before rounding.
    pub fn free_fraction(&self) -> Option<f64> {
        fraction(self.avail, self.used)
    }
}

impl Inodes {
    /// IUse% as `df -i` shows it.
    pub fn use_percent(&self) -> Option<u8> {
        percent_ceil(self.used, self.avail)
    }

    pub fn free_fraction(&self) -> Option<f64> {
        fraction(self.avail, self.used)
    }
}

/// `ceil(100 * used / (used + avail))` in integers (u128, so no overflow).
fn percent_ceil(used: u64, avail: u64) -> Option<u8> {
    let total = u128::from(used) + u128::from(avail);
    if total == 0 {
        return None;
    }
    let pct = (u128::from(used) * 100).div_ceil(total);
    u8::try_from(pct).ok()
}

/// `part / (part + other)` as a float in 0..=1, `None` when both are zero.
fn fraction(part: u64, other: u64) -> Option<f64> {
    let total = part as f64 + other as f64;
    (total > 0.0).then(|| part as f64 / total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(frsize: u64, blocks: u64, bfree: u64, bavail: u64) -> Counters {
        Counters { frsize, blocks, bfree, bavail, files: 100, ffree: 40, favail: 40 }
    }

    #[test]
    fn figures_are_dfs() {
        // ext4 with 5% reserved: avail < free.
        let u = Usage::from_counters(&counters(4096, 1000, 300, 250)).unwrap();
        assert_eq!(u.size, 4_096_000);
        assert_eq!(u.used, 700 * 4096);
        assert_eq!(u.avail, 250 * 4096);
        // 700 / 950 = 73.68..% → 74, rounded up as df does.
        assert_eq!(u.use_percent(), Some(74));
        let i = u.inodes.unwrap();
        assert_eq!((i.total, i.used, i.avail), (100, 60, 40));
        assert_eq!(i.use_percent(), Some(60));
    }

    #[test]
    fn use_percent_rounds_up_even_a_tiny_remainder() {
        let u = Usage { size: 0, used: 1, avail: 999_999, inodes: None };
        assert_eq!(u.use_percent(), Some(1));
        let full = Usage { size: 0, used: 5, avail: 0, inodes: None };
        assert_eq!(full.use_percent(), Some(100));
    }

    #[test]
    fn empty_filesystems_have_no_percent() {
        let u = Usage::from_counters(&Counters::default()).unwrap();
        assert_eq!(u.use_percent(), None);
        assert_eq!(u.free_fraction(), None);
        assert!(u.inodes.is_none(), "no f_files means no inode figures");
    }

    #[test]
    fn more_free_than_total_is_zero_used() {
        let u = Usage::from_counters(&counters(512, 10, 20, 20)).unwrap();
        assert_eq!(u.used, 0);
    }

    #[test]
    fn overflowing_counts_are_an_error_not_a_wrap() {
        let c = counters(u64::MAX, 2, 1, 1);
        assert!(matches!(Usage::from_counters(&c), Err(UsageError::Overflow)));
    }

    #[test]
    fn huge_figures_do_not_overflow_the_percentage() {
        let u = Usage { size: u64::MAX, used: u64::MAX / 2, avail: u64::MAX / 2, inodes: None };
        assert_eq!(u.use_percent(), Some(50));
    }

    #[test]
    fn statvfs_of_root_answers() {
        let c = statvfs(Path::new("/")).unwrap();
        assert!(c.blocks > 0 && c.frsize > 0);
    }
}
