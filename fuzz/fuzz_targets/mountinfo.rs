//! Fuzz the mount-table reader and the choosing that runs on what it reads:
//! `/proc/self/mountinfo` is the kernel's, but a table read while mounts
//! change can be inconsistent (parents missing, ids repeated, cycles), and
//! nothing may panic or loop on it.
#![no_main]
use libfuzzer_sys::fuzz_target;

use std::path::{Path, PathBuf};

use kexec_chooser::mountinfo;
use kexec_chooser::disk::select::{self, Filters};

fuzz_target!(|data: &[u8]| {
    let (entries, bad) = mountinfo::parse(data);
    // Every non-blank line is either an entry or a numbered bad line.
    let lines = data.split(|&b| b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).count();
    assert_eq!(entries.len() + bad.len(), lines);
    for e in &entries {
        assert!(e.mount_point.is_absolute() && e.root.is_absolute());
    }
    let visible = select::visible(&entries);
    assert!(visible.len() <= entries.len());
    let all = Filters { all: true, ..Filters::default() };
    let listed = select::listing(&entries, &all, |p: &Path| Some(p.to_path_buf()));
    assert!(listed.len() <= visible.len());
    // Under a root: only what lies below the first mount point, shown from it.
    if let Some(first) = entries.first() {
        let dir = first.mount_point.clone();
        let _ = select::listing(&entries, &Filters::default(), |p: &Path| {
            p.strip_prefix(&dir).ok().map(|rel| Path::new("/").join(rel))
        });
        let inside: PathBuf = dir.join("some/file");
        if let Some(h) = select::holder(&visible, &inside) {
            assert!(inside.starts_with(&h.mount_point));
        }
    }
});
