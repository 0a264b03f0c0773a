//! The running kernel as kexec-chooser sees it, read once per run (all
//! under `--root`): its kexec state files, its architecture, its command
//! line and whether systemd runs it. Preflight checks it, `status` prints
//! it, the plan and the load decide by it, and it explains an errno.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Serialize;

use crate::image::Arch;
use crate::paths;
use crate::root::Root;

/// The EFI global-variable GUID under which `SecureBoot` lives (UEFI spec 3.3).
const SECURE_BOOT_VAR: &str = "SecureBoot-8be4df61-93ca-11d2-aa0d-e398b5dc9a63";

/// A `CONFIG_*` option of the running kernel, from /boot/config-RELEASE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Config {
    Yes,
    No,
    /// No config file for the running release.
    Unknown,
}

/// The architecture kexec-chooser runs on, as the image module names it,
/// and its name for messages. It is the running kernel's: the binary is
/// built for the machine it runs on.
pub fn running_arch() -> (Option<Arch>, &'static str) {
    if cfg!(target_arch = "x86_64") {
        (Some(Arch::X86_64), "x86_64")
    } else if cfg!(target_arch = "aarch64") {
        (Some(Arch::Aarch64), "aarch64")
    } else {
        (None, std::env::consts::ARCH)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KexecState {
    /// The running release (`/proc/sys/kernel/osrelease`).
    pub release: Option<String>,
    /// `/sys/kernel/kexec_loaded`.
    pub loaded: Option<bool>,
    /// `/proc/sys/kernel/kexec_load_disabled`: once 1, no load until reboot.
    pub load_disabled: Option<bool>,
    /// `/proc/sys/kernel/kexec_load_limit_reboot` (Linux 6.6+): -1 unlimited.
    pub load_limit_reboot: Option<i64>,
    /// The active lockdown mode (`none`, `integrity`, `confidentiality`).
    pub lockdown: Option<String>,
    /// Secure Boot as the firmware reports it; `None` without EFI.
    pub secure_boot: Option<bool>,
    pub config_kexec_file: Config,
    pub config_kexec_sig: Config,
    pub config_kexec_sig_force: Config,
    /// The running architecture (see [`running_arch`]).
    #[serde(skip)]
    pub arch: Option<Arch>,
    #[serde(skip)]
    pub arch_name: &'static str,
    /// The running kernel's command line (`/proc/cmdline`), as it is.
    #[serde(skip)]
    pub cmdline: Option<String>,
    /// Whether systemd runs this machine (`/run/systemd/system` exists).
    #[serde(skip)]
    pub systemd: bool,
}

/// The most read from one of the kernel's one-value files.
const VALUE_LIMIT: u64 = 4096;
/// The most read from a command line file (the longest kernel command line is 4 KiB).
pub const CMDLINE_LIMIT: u64 = 64 * 1024;
/// The most read from a kernel config file (Debian's are about 260 KB).
const CONFIG_LIMIT: u64 = 16 * 1024 * 1024;

fn read_trim(root: &Root, path: &str) -> Option<String> {
    root.read_to_string(path, VALUE_LIMIT).ok().map(|s| s.trim().to_string())
}

/// The word in brackets of a sysfs choice file: `none [integrity] confidentiality`.
pub fn bracketed(choice: &str) -> Option<&str> {
    let start = choice.find('[')?;
    let end = choice.get(start..)?.find(']')?;
    choice.get(start.checked_add(1)?..start.checked_add(end)?)
}

/// Look up `CONFIG_name` in the text of a kernel config file (or in the
/// lines of it that [`config_lines`] kept): the first line that sets or
/// unsets it counts.
pub fn config_option(config: &str, name: &str) -> Config {
    let set = format!("CONFIG_{name}=");
    let unset = format!("# CONFIG_{name} is not set");
    for line in config.lines() {
        if let Some(v) = line.strip_prefix(&set) {
            return if v == "y" || v == "m" { Config::Yes } else { Config::No };
        }
        if line == unset {
            return Config::No;
        }
    }
    Config::No
}

/// The lines of a kernel config file about `CONFIG_<prefix>...`, set or
/// not set, in their order: all [`config_option`] needs for names starting
/// with `prefix`. The file (about 260 KB on Debian) is scanned line by line
/// rather than kept whole.
pub fn config_lines(root: &Root, path: &Path, prefix: &str) -> std::io::Result<String> {
    let set = format!("CONFIG_{prefix}");
    let unset = format!("# CONFIG_{prefix}");
    let mut keep = String::new();
    let file = root.open_file(path).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut reader = BufReader::new(file.take(CONFIG_LIMIT));
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(keep);
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.starts_with(set.as_bytes()) || text.starts_with(unset.as_bytes()) {
            keep.push_str(&String::from_utf8_lossy(text));
            keep.push('\n');
        }
    }
}

impl Default for KexecState {
    /// Nothing known: every file missing, on this architecture.
    fn default() -> Self {
        let (arch, arch_name) = running_arch();
        KexecState {
            release: None,
            loaded: None,
            load_disabled: None,
            load_limit_reboot: None,
            lockdown: None,
            secure_boot: None,
            config_kexec_file: Config::Unknown,
            config_kexec_sig: Config::Unknown,
            config_kexec_sig_force: Config::Unknown,
            arch,
            arch_name,
            cmdline: None,
            systemd: false,
        }
    }
}

impl KexecState {
    /// Read every state file under `root`; a missing file leaves its field unknown.
    pub fn read(root: &Root) -> KexecState {
        let release = read_trim(root, paths::OSRELEASE);
        let secure_boot = root
            .read(Path::new(paths::EFIVARS).join(SECURE_BOOT_VAR), VALUE_LIMIT)
            .ok()
            // 4 bytes of attributes, then the 1-byte value.
            .and_then(|v| v.get(4).copied())
            .map(|b| b == 1);
        let config = release
            .as_ref()
            .and_then(|r| config_lines(root, &Path::new(paths::BOOT).join(format!("config-{r}")), "KEXEC").ok());
        let opt = |name: &str| config.as_deref().map_or(Config::Unknown, |c| config_option(c, name));
        let (arch, arch_name) = running_arch();
        KexecState {
            loaded: read_trim(root, paths::KEXEC_LOADED).map(|s| s == "1"),
            load_disabled: read_trim(root, paths::KEXEC_LOAD_DISABLED).map(|s| s == "1"),
            load_limit_reboot: read_trim(root, paths::KEXEC_LOAD_LIMIT_REBOOT).and_then(|s| s.parse().ok()),
            lockdown: read_trim(root, paths::LOCKDOWN).and_then(|s| bracketed(&s).map(str::to_string)),
            secure_boot,
            config_kexec_file: opt("KEXEC_FILE"),
            config_kexec_sig: opt("KEXEC_SIG"),
            config_kexec_sig_force: opt("KEXEC_SIG_FORCE"),
            release,
            arch,
            arch_name,
            cmdline: root.read_to_string(paths::PROC_CMDLINE, CMDLINE_LIMIT).ok(),
            systemd: root.is_dir(paths::RUN_SYSTEMD),
        }
    }

    /// Lockdown that makes the kernel refuse unsigned images.
    pub fn locked_down(&self) -> bool {
        matches!(self.lockdown.as_deref(), Some(m) if m != "none")
    }

    pub fn limit_used_up(&self) -> bool {
        self.load_limit_reboot == Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracketed_word_is_the_active_choice() {
        assert_eq!(bracketed("none [integrity] confidentiality"), Some("integrity"));
        assert_eq!(bracketed("[none] integrity"), Some("none"));
        assert_eq!(bracketed("none integrity"), None);
        assert_eq!(bracketed("[broken"), None);
    }

    #[test]
    fn config_options_are_read_from_the_config_text() {
        let c = "CONFIG_KEXEC_FILE=y\n# CONFIG_KEXEC_SIG_FORCE is not set\nCONFIG_KEXEC_SIG=y\n";
        assert_eq!(config_option(c, "KEXEC_FILE"), Config::Yes);
        assert_eq!(config_option(c, "KEXEC_SIG_FORCE"), Config::No);
        assert_eq!(config_option(c, "KEXEC_SIG"), Config::Yes);
        assert_eq!(config_option(c, "KEXEC"), Config::No);
    }

    #[test]
    fn config_lines_keep_the_prefixed_lines_of_any_length() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("config");
        // Many lines, one of them longer than any buffer, the last without a newline.
        let mut text = String::new();
        let mut want = String::new();
        for i in 0..4000 {
            text.push_str(&format!("CONFIG_OTHER_{i}=y\n"));
            if i % 7 == 0 {
                let line = format!("CONFIG_KEXEC_N{i}=m");
                text.push_str(&line);
                text.push('\n');
                want.push_str(&line);
                want.push('\n');
            }
        }
        text.push_str(&format!("CONFIG_CMDLINE=\"{}\"\n", "x".repeat(40_000)));
        text.push_str("# CONFIG_KEXEC_SIG is not set\nCONFIG_KEXEC_FILE=y");
        want.push_str("# CONFIG_KEXEC_SIG is not set\nCONFIG_KEXEC_FILE=y\n");
        std::fs::write(&path, &text).unwrap();
        let root = Root::new(d.path());
        let kept = config_lines(&root, Path::new("/config"), "KEXEC").unwrap();
        assert_eq!(kept, want);
        assert_eq!(config_option(&kept, "KEXEC_FILE"), Config::Yes);
        assert_eq!(config_option(&kept, "KEXEC_SIG"), Config::No);
        assert!(config_lines(&root, Path::new("/missing"), "KEXEC").is_err());
    }

    #[test]
    fn config_options_count_only_whole_lines_and_the_first_one() {
        // A longer name that starts with the one asked for is another option.
        let c = "CONFIG_KEXEC_FILE_X=y\nXCONFIG_KEXEC_FILE=y\n# CONFIG_KEXEC_FILE is not set!\n";
        assert_eq!(config_option(c, "KEXEC_FILE"), Config::No);
        let c = "# CONFIG_KEXEC_FILE is not set\nCONFIG_KEXEC_FILE=y\n";
        assert_eq!(config_option(c, "KEXEC_FILE"), Config::No);
        let c = "CONFIG_KEXEC_FILE=m\n# CONFIG_KEXEC_FILE is not set\n";
        assert_eq!(config_option(c, "KEXEC_FILE"), Config::Yes);
        assert_eq!(config_option("CONFIG_KEXEC_FILE=y", "KEXEC_FILE"), Config::Yes);
        assert_eq!(config_option("CONFIG_KEXEC_FILE=yes\n", "KEXEC_FILE"), Config::No);
        assert_eq!(config_option("CONFIG_KEXEC_FILE=y\r\n", "KEXEC_FILE"), Config::Yes);
        assert_eq!(config_option("", "KEXEC_FILE"), Config::No);
    }

    #[test]
    fn state_is_read_under_the_root() {
        let d = tempfile::tempdir().unwrap();
        let w = |p: &str, s: &[u8]| {
            let f = d.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, s).unwrap();
        };
        w("/proc/sys/kernel/osrelease", b"6.1.0-9-amd64\n");
        w("/sys/kernel/kexec_loaded", b"0\n");
        w("/proc/sys/kernel/kexec_load_disabled", b"1\n");
        w("/sys/kernel/security/lockdown", b"none [integrity] confidentiality\n");
        w("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e398b5dc9a63", &[6, 0, 0, 0, 1]);
        w("/boot/config-6.1.0-9-amd64", b"CONFIG_KEXEC_FILE=y\n");
        let s = KexecState::read(&Root::new(d.path()));
        assert_eq!(s.release.as_deref(), Some("6.1.0-9-amd64"));
        assert_eq!(s.loaded, Some(false));
        assert_eq!(s.load_disabled, Some(true));
        assert_eq!(s.load_limit_reboot, None);
        assert!(s.locked_down());
        assert_eq!(s.secure_boot, Some(true));
        assert_eq!(s.config_kexec_file, Config::Yes);
        assert_eq!(s.config_kexec_sig, Config::No);
    }
}
