//! Which filesystems to check: the real ones of the mount table, each once,
//! or the ones holding the paths given. Pure functions over parsed mountinfo,
//! so every rule here is tested without mounting anything.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::fnv::FnvMap;
use crate::mountinfo::MountEntry;

/// Types that never hold user data: kernel interfaces, read-only images and
/// stacked views whose space belongs to another filesystem. Hidden from the
/// listing before any statvfs, so they cost nothing and cannot hang.
pub const PSEUDO_TYPES: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tracefs",
];

/// Memory-backed types: hidden unless `--all`.
pub const MEMORY_TYPES: &[&str] = &["tmpfs", "devtmpfs"];

/// What the person asked to leave out or put in.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// `--all`: memory-backed filesystems too.
    pub all: bool,
    /// `--exclude-type`.
    pub exclude_types: Vec<String>,
    /// `--exclude`: mount points (as the system sees them) or devices.
    pub exclude: Vec<PathBuf>,
}

impl Filters {
    /// Whether an explicit choice (`--exclude`, `--exclude-type`) leaves this out.
    pub fn excludes(&self, mount_point: &Path, e: &MountEntry) -> bool {
        self.exclude_types.contains(&e.fstype)
            || self.exclude.iter().any(|x| x == mount_point || x.as_os_str() == e.source.as_str())
    }

    fn hides_type(&self, fstype: &str) -> bool {
        PSEUDO_TYPES.contains(&fstype) || (!self.all && MEMORY_TYPES.contains(&fstype))
    }
}

/// The mounts a path lookup can reach: drops each mount hidden under a later
/// one at the same place or at a directory above it (statvfs of its mount
/// point would answer for the one on top).
pub fn visible(entries: &[MountEntry]) -> Vec<&MountEntry> {
    // Keyed by bytes: hashing a Path walks its components, which with
    // hundreds of mounts shows up next to the statvfs calls themselves.
    let mut last: FnvMap<&[u8], usize> = FnvMap::with_capacity_and_hasher(entries.len(), Default::default());
    for (i, e) in entries.iter().enumerate() {
        last.insert(e.mount_point.as_os_str().as_bytes(), i);
    }
    let by_id: FnvMap<u64, &MountEntry> = entries.iter().map(|e| (e.id, e)).collect();
    entries
        .iter()
        .enumerate()
        .filter(|(i, e)| {
            !ancestors(e.mount_point.as_os_str().as_bytes()).any(|a| match last.get(a) {
                Some(&l) if l > *i => entries.get(l).is_some_and(|top| !is_ancestor(&by_id, top.id, e)),
                _ => false,
            })
        })
        .map(|(_, e)| e)
        .collect()
}

/// A mount point and every directory above it, as bytes: `/a/b`, `/a`, `/`.
/// Mount points in mountinfo are absolute and normalised, so cutting at each
/// `/` is exact.
fn ancestors(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let cuts = path.iter().enumerate().filter(|&(_, &b)| b == b'/').map(|(i, _)| i);
    std::iter::once(path).chain(cuts.filter_map(move |i| if i == 0 { path.get(..1) } else { path.get(..i) }).rev())
}

/// Whether mount `id` is `e` or one of the mounts `e` sits on.
fn is_ancestor(by_id: &FnvMap<u64, &MountEntry>, id: u64, e: &MountEntry) -> bool {
    let mut cur = e;
    // The table could be inconsistent (it is read while mounts change):
    // never follow more parents than there are mounts.
    for _ in 0..=by_id.len() {
        if cur.id == id {
            return true;
        }
        match by_id.get(&cur.parent_id) {
            Some(p) if p.id != cur.id => cur = p,
            _ => return false,
        }
    }
    false
}

/// The listing without paths: visible, real, not excluded, one mount per
/// device (the shortest mount point, as GNU df keeps). `shown` maps a mount
/// point to how it is shown and filters out what lies outside `--root`.
pub fn listing<'a>(
    entries: &'a [MountEntry],
    filters: &Filters,
    shown: impl Fn(&Path) -> Option<PathBuf>,
) -> Vec<(PathBuf, &'a MountEntry)> {
    let mut out: Vec<(PathBuf, &MountEntry)> = Vec::new();
    let mut by_dev: FnvMap<(u32, u32), usize> = FnvMap::default();
    for e in visible(entries) {
        if filters.hides_type(&e.fstype) {
            continue;
        }
        let Some(mount) = shown(&e.mount_point) else {
            continue;
        };
        if filters.excludes(&mount, e) {
            continue;
        }
        match by_dev.get(&(e.major, e.minor)) {
            Some(&k) => {
                if let Some(slot) = out.get_mut(k) {
                    if e.mount_point.as_os_str().len() < slot.1.mount_point.as_os_str().len() {
                        *slot = (mount, e);
                    }
                }
            }
            None => {
                by_dev.insert((e.major, e.minor), out.len());
                out.push((mount, e));
            }
        }
    }
    out
}

/// The visible mount holding `path` (an absolute path with no symlinks or
/// `..` left): the one with the longest mount point above it.
pub fn holder<'a>(visible: &[&'a MountEntry], path: &Path) -> Option<&'a MountEntry> {
    visible
        .iter()
        .filter(|e| path.starts_with(&e.mount_point))
        .max_by_key(|e| e.mount_point.components().count())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mountinfo::parse;

    fn table(text: &str) -> Vec<MountEntry> {
        let (entries, bad) = parse(text.as_bytes());
        assert!(bad.is_empty(), "{bad:?}");
        entries
    }

    fn mounts(list: &[(PathBuf, &MountEntry)]) -> Vec<String> {
        list.iter().map(|(m, _)| m.display().to_string()).collect()
    }

    const MACHINE: &str = "\
22 27 0:21 / /proc rw - proc proc rw
23 27 0:22 / /sys rw - sysfs sysfs rw
27 1 254:0 / / rw - ext4 /dev/vda rw
28 27 254:1 / /boot rw - ext4 /dev/vdb rw
30 27 0:27 / /dev/shm rw - tmpfs tmpfs rw
31 27 254:0 /srv/data /data rw - ext4 /dev/vda rw
32 27 0:40 / /snap/core/1 ro - squashfs /dev/loop0 ro
33 27 0:41 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw
34 27 0:42 / /home/u/remote rw - fuse.sshfs u@h:/ rw
";

    #[test]
    fn pseudo_and_memory_filesystems_are_hidden() {
        let e = table(MACHINE);
        let got = mounts(&listing(&e, &Filters::default(), |p| Some(p.to_path_buf())));
        assert_eq!(got, ["/", "/boot", "/home/u/remote"]);
    }

    #[test]
    fn all_adds_tmpfs_but_not_kernel_interfaces() {
        let e = table(MACHINE);
        let f = Filters { all: true, ..Filters::default() };
        let got = mounts(&listing(&e, &f, |p| Some(p.to_path_buf())));
        assert_eq!(got, ["/", "/boot", "/dev/shm", "/home/u/remote"]);
    }

    #[test]
    fn bind_mounts_show_once_under_the_shortest_mount_point() {
        let e = table("1 0 8:1 /x /very/long/a rw - ext4 /dev/sda1 rw\n2 1 8:1 / /b rw - ext4 /dev/sda1 rw\n");
        let got = listing(&e, &Filters::default(), |p| Some(p.to_path_buf()));
        assert_eq!(mounts(&got), ["/b"]);
    }

    #[test]
    fn excluded_types_and_paths_are_left_out() {
        let e = table(MACHINE);
        let f = Filters {
            exclude_types: vec!["fuse.sshfs".into()],
            exclude: vec![PathBuf::from("/boot")],
            ..Filters::default()
        };
        assert_eq!(mounts(&listing(&e, &f, |p| Some(p.to_path_buf()))), ["/"]);
        let by_device = Filters { exclude: vec![PathBuf::from("/dev/vdb")], ..Filters::default() };
        assert_eq!(mounts(&listing(&e, &by_device, |p| Some(p.to_path_buf()))), ["/", "/home/u/remote"]);
    }

    #[test]
    fn a_mount_on_top_of_another_hides_it() {
        let e = table("1 0 8:1 / / rw - ext4 a rw\n2 1 8:2 / /m rw - ext4 b rw\n3 1 8:3 / /m rw - ext4 c rw\n");
        let v: Vec<&str> = visible(&e).iter().map(|e| e.source.as_str()).collect();
        assert_eq!(v, ["a", "c"]);
    }

    #[test]
    fn a_mount_over_a_parent_directory_hides_the_ones_below() {
        let e = table(
            "1 0 8:1 / / rw - ext4 a rw\n2 1 8:2 / /m/sub rw - ext4 b rw\n3 1 8:3 / /m rw - ext4 c rw\n4 3 8:4 / /m/sub rw - ext4 d rw\n",
        );
        let v: Vec<&str> = visible(&e).iter().map(|e| e.source.as_str()).collect();
        assert_eq!(v, ["a", "c", "d"]);
    }

    #[test]
    fn a_child_listed_before_its_parent_is_not_hidden_by_it() {
        let e = table("1 0 8:1 / / rw - ext4 a rw\n4 3 8:4 / /m/sub rw - ext4 d rw\n3 1 8:3 / /m rw - ext4 c rw\n");
        assert_eq!(visible(&e).len(), 3);
    }

    #[test]
    fn parent_cycles_do_not_loop() {
        // /m sits on /x which sits on /m; "/" comes later and is above /m.
        let e = table("2 5 8:2 / /m rw - ext4 b rw\n5 2 8:5 / /x rw - ext4 x rw\n1 0 8:1 / / rw - ext4 a rw\n");
        let v: Vec<&str> = visible(&e).iter().map(|e| e.source.as_str()).collect();
        assert_eq!(v, ["a"]);
    }

    #[test]
    fn the_holder_is_the_deepest_mount_above_the_path() {
        let e = table(MACHINE);
        let v = visible(&e);
        assert_eq!(holder(&v, Path::new("/boot/grub")).unwrap().source, "/dev/vdb");
        assert_eq!(holder(&v, Path::new("/bootx")).unwrap().source, "/dev/vda");
        assert_eq!(holder(&v, Path::new("/")).unwrap().source, "/dev/vda");
    }

    #[test]
    fn ancestors_are_cut_at_each_slash() {
        let got: Vec<&[u8]> = ancestors(b"/a/bc/d").collect();
        assert_eq!(got, [&b"/a/bc/d"[..], b"/a/bc", b"/a", b"/"]);
        assert_eq!(ancestors(b"/").collect::<Vec<_>>(), [&b"/"[..], b"/"]);
    }

    #[test]
    fn mounts_outside_the_root_are_not_listed() {
        let e = table(MACHINE);
        let got = listing(&e, &Filters::default(), |p| p.strip_prefix("/home").ok().map(|r| Path::new("/").join(r)));
        assert_eq!(mounts(&got), ["/u/remote"]);
    }
}
