//! Readers of the /proc files the hand-over needs (processes, swaps,
//! capabilities; the mount table is [`crate::mountinfo`]'s): pure parsers over text that never panic, so that the
//! shutdown can be tested on made-up tables.

use std::io;
use std::path::{Path, PathBuf};

/// `PF_KTHREAD` from include/linux/sched.h: the task is a kernel thread.
const PF_KTHREAD: u64 = 0x0020_0000;

/// One process as the direct shutdown sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: i32,
    pub comm: String,
    /// Kernel threads ignore signals and are never asked to stop.
    pub kernel_thread: bool,
    /// A zombie has exited already; only its parent's wait is missing.
    pub zombie: bool,
}

/// Parse `/proc/PID/stat` (proc(5)): `pid (comm) state ppid ... flags ...`.
/// `comm` may hold spaces and parentheses, so the fields after it are found
/// from the last `)`.
pub fn parse_stat(text: &str) -> Option<Process> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text.get(..open)?.trim().parse().ok()?;
    let comm = text.get(open.checked_add(1)?..close)?.to_string();
    let rest: Vec<&str> = text.get(close.checked_add(1)?..)?.split_whitespace().collect();
    // rest[0] is field 3 (state); flags is field 9, so rest[6].
    let state = rest.first()?;
    let flags: u64 = rest.get(6)?.parse().ok()?;
    Some(Process { pid, comm, kernel_thread: flags & PF_KTHREAD != 0, zombie: *state == "Z" || *state == "X" })
}

/// Every process under `proc_dir` (normally /proc). Processes that vanish
/// while being read are left out: they are gone, which is what is wanted.
pub fn read_processes(proc_dir: &Path) -> io::Result<Vec<Process>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(proc_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(entry.path().join("stat")) {
            if let Some(p) = parse_stat(&text) {
                out.push(p);
            }
        }
    }
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

/// The swap areas in /proc/swaps (its first line is a header).
pub fn parse_swaps(text: &str) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let unescape = |f: &str| PathBuf::from(std::ffi::OsString::from_vec(crate::mountinfo::unescape(f.as_bytes())));
    text.lines().skip(1).filter_map(|l| l.split_whitespace().next()).map(unescape).collect()
}

/// Whether capability `cap` is in `CapEff` of a /proc/PID/status text.
pub fn effective_capability(status: &str, cap: u32) -> Option<bool> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim();
    let mask = u64::from_str_radix(hex, 16).ok()?;
    Some(mask.checked_shr(cap)? & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_parentheses_and_spaces_in_comm_parses() {
        let p = parse_stat("42 (a) b (c)) S 1 42 42 0 -1 4194560 0 0").unwrap();
        assert_eq!(p.pid, 42);
        assert_eq!(p.comm, "a) b (c)");
        assert!(!p.kernel_thread);
        assert!(!p.zombie);
    }

    #[test]
    fn kernel_threads_are_recognised_by_pf_kthread() {
        let p = parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0").unwrap();
        assert!(p.kernel_thread);
    }

    #[test]
    fn zombies_are_recognised() {
        assert!(parse_stat("7 (x) Z 1 7 7 0 -1 4194316 0").unwrap().zombie);
    }

    #[test]
    fn truncated_stat_is_rejected_not_panicking() {
        for t in ["", "1", "1 (x", "1 (x) S 1", "x (y) S 1 1 1 1 1 z"] {
            assert_eq!(parse_stat(t), None, "{t:?}");
        }
    }

    #[test]
    fn swaps_skip_the_header() {
        let t = "Filename\tType\tSize\tUsed\tPriority\n/dev/vda2 partition 1 0 -2\n/swap\\040file file 1 0 -3\n";
        assert_eq!(parse_swaps(t), vec![PathBuf::from("/dev/vda2"), PathBuf::from("/swap file")]);
    }

    #[test]
    fn cap_sys_boot_is_bit_22_of_capeff() {
        assert_eq!(effective_capability("CapEff:\t0000000000400000\n", 22), Some(true));
        assert_eq!(effective_capability("CapEff:\t00000000003fffff\n", 22), Some(false));
        assert_eq!(effective_capability("CapInh:\t0\n", 22), None);
        assert_eq!(effective_capability("CapEff:\tzz\n", 22), None);
    }

    #[test]
    fn this_process_is_among_the_processes() {
        let own = std::process::id() as i32;
        let ps = read_processes(Path::new("/proc")).unwrap();
        assert!(ps.iter().any(|p| p.pid == own && !p.kernel_thread));
    }
}
