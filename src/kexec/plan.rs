//! The plan: everything decided about a warm reboot before anything acts —
//! the entry, what is loaded, the checked command line, how the hand-over
//! goes, which syscall loads it, and the one reading of the running kernel's
//! state it was decided on. `--dry-run` prints it; the warm reboot acts on it.

use std::ffi::CString;
use std::fmt;
use std::path::PathBuf;

use serde::{Serialize, Serializer};

use crate::boot::{cmdline, BootEntry, Source};
use crate::paths;
use crate::root::Root;
use crate::safety::net::{self, Guard, Net};
use crate::safety::record::Kind;
use crate::safety::watchdog::ArmedBy;

use super::preflight::Allow;
use super::state::KexecState;
use super::syscall::{self, Choice};

/// How the loaded kernel is entered, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `systemctl kexec`: systemd stops every unit and unmounts.
    Systemd,
    /// kexec-chooser's own clean shutdown, for machines without systemd.
    Direct,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Systemd => "systemd",
            Mode::Direct => "direct",
        })
    }
}

/// The hand-over asked for on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeChoice {
    /// `systemd` when /run/systemd/system exists, else `direct`.
    Auto,
    /// `systemctl kexec`: systemd stops every unit and unmounts.
    Systemd,
    /// kexec-chooser's own clean shutdown, for machines without systemd.
    Direct,
}

impl ModeChoice {
    /// The mode this choice means on the machine `state` describes.
    pub fn resolve(self, state: &KexecState) -> Mode {
        match self {
            ModeChoice::Auto if state.systemd => Mode::Systemd,
            ModeChoice::Auto | ModeChoice::Direct => Mode::Direct,
            ModeChoice::Systemd => Mode::Systemd,
        }
    }
}

/// Where the base of the command line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmdlineSource {
    /// The entry's own (BLS `options`, a UKI's `.cmdline`).
    Entry(Source),
    EtcKernelCmdline,
    ProcCmdline,
    /// `--cmdline` replaced it.
    Given,
    /// Nothing to start from.
    Nowhere,
}

impl fmt::Display for CmdlineSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdlineSource::Entry(Source::Vmlinuz) => f.write_str("the boot entry"),
            CmdlineSource::Entry(Source::Bls) => f.write_str("the BLS entry"),
            CmdlineSource::Entry(Source::Uki) => f.write_str("the UKI entry"),
            CmdlineSource::EtcKernelCmdline => f.write_str(paths::KERNEL_CMDLINE),
            CmdlineSource::ProcCmdline => f.write_str(paths::PROC_CMDLINE),
            CmdlineSource::Given => f.write_str("--cmdline"),
            CmdlineSource::Nowhere => f.write_str("nowhere (no /etc/kernel/cmdline, no /proc/cmdline)"),
        }
    }
}

/// Why a command line cannot be given to the kernel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdlineError {
    #[error("the command line is {len} bytes, longer than the {max} that {kernel} accepts")]
    TooLong { kernel: PathBuf, len: usize, max: u32 },
    #[error("the command line contains a NUL byte")]
    Nul,
    #[error(
        "{from}: the double quote in {text:?} is never closed, so the kernel would read the rest of the command \
         line, the safety net's words included, as one value; close it, or drop the word with --remove KEY"
    )]
    UnbalancedQuote { from: String, text: String },
    #[error("the kernel would not take the safety net's word {word:?} from the command line {line:?}")]
    NetHidden { word: String, line: String },
}

/// A command line the kernel will take: without NUL, and no longer than the
/// image's `cmdline_size`. Checked here once; the load passes the C string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelCmdline(CString);

impl KernelCmdline {
    pub fn new(text: &str, kernel: &std::path::Path, max: Option<u32>) -> Result<Self, CmdlineError> {
        if let Some(max) = max {
            if u32::try_from(text.len()).map_or(true, |len| len > max) {
                return Err(CmdlineError::TooLong { kernel: kernel.to_path_buf(), len: text.len(), max });
            }
        }
        CString::new(text).map(KernelCmdline).map_err(|_| CmdlineError::Nul)
    }

    pub fn as_str(&self) -> &str {
        // Made from a &str in `new`, so always UTF-8.
        self.0.to_str().unwrap_or_default()
    }

    pub fn as_c_str(&self) -> &std::ffi::CStr {
        &self.0
    }
}

impl fmt::Display for KernelCmdline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the command line asked for, besides the entry.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub append: Vec<String>,
    pub remove: Vec<String>,
    pub cmdline: Option<String>,
    pub initrds: Vec<PathBuf>,
    /// What `--force` and `--no-initrd` let preflight pass.
    pub allow: Allow,
    /// The hand-over, for `reboot`; `None` for `load`.
    pub mode: Option<ModeChoice>,
    /// `--watchdog SECONDS`, `--no-watchdog`, or neither.
    pub watchdog: net::Request,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The chosen entry.
    pub entry: BootEntry,
    /// Initrds in load order, as the system sees them: the entry's, those of
    /// `--initrd`, or none with `--no-initrd`.
    pub initrds: Vec<PathBuf>,
    /// The command line the next kernel gets.
    pub cmdline: KernelCmdline,
    pub cmdline_source: CmdlineSource,
    /// The hand-over, resolved once; `None` for a load alone.
    pub mode: Option<Mode>,
    /// The load syscall and why.
    pub syscall: Choice,
    /// What preflight may let pass.
    pub allow: Allow,
    /// The running kernel, read once for this run.
    pub state: KexecState,
    /// The id of this warm reboot's record, marked on the new kernel's
    /// command line so that `confirm` knows the warm boot from a cold one.
    pub mark: String,
    pub net: Net,
}

/// The command line with the words of the safety net: the mark, and for an
/// armed watchdog the words that keep the new kernel from stopping or
/// feeding it before `confirm`. A `modprobe.blacklist=` already there keeps
/// its modules; the watchdog's is added to its list.
fn with_net_words(line: &str, mark: &str, net: &Net) -> Result<String, CmdlineError> {
    let mut words = net.words(mark);
    // Lists of modules: the net's join the line's own (kmod and
    // systemd-modules-load read every one), rather than replace them.
    for list in ["modprobe.blacklist=", "modules_load="] {
        let existing: Vec<String> =
            cmdline::split(line).into_iter().filter_map(|w| w.strip_prefix(list).map(str::to_owned)).collect();
        for w in &mut words {
            if let Some(module) = w.strip_prefix(list) {
                let mut all: Vec<&str> = existing.iter().flat_map(|e| e.split(',')).filter(|m| !m.is_empty()).collect();
                if !all.contains(&module) {
                    all.push(module);
                }
                *w = format!("{list}{}", all.join(","));
            }
        }
    }
    let line = cmdline::edit(line, None, &[], &words);
    // The kernel and kmod must read every word as written: a word after `--`
    // goes to init, one after an open quote is part of another's value.
    match cmdline::hidden(&line, &words) {
        Some(word) => Err(CmdlineError::NetHidden { word: word.to_string(), line }),
        None => Ok(line),
    }
}

/// Refuse a part of the command line with an open quote, naming where it
/// came from: in the kernel's reading it would swallow every later word.
fn refuse_open_quote(source: impl FnOnce() -> String, text: &str) -> Result<(), CmdlineError> {
    if cmdline::unbalanced_quote(text) {
        return Err(CmdlineError::UnbalancedQuote { from: source(), text: text.to_string() });
    }
    Ok(())
}

/// The base command line for `entry`: its own, else `/etc/kernel/cmdline`,
/// else the running one without the boot loader's words.
fn base_cmdline(root: &Root, entry: &BootEntry, state: &KexecState) -> (String, CmdlineSource) {
    if let Some(c) = &entry.cmdline {
        return (cmdline::split(c).join(" "), CmdlineSource::Entry(entry.source));
    }
    if let Ok(t) = root.read_to_string(paths::KERNEL_CMDLINE, super::state::CMDLINE_LIMIT) {
        return (cmdline::from_etc(&t), CmdlineSource::EtcKernelCmdline);
    }
    match &state.cmdline {
        Some(t) => (cmdline::from_proc(t), CmdlineSource::ProcCmdline),
        None => (String::new(), CmdlineSource::Nowhere),
    }
}

impl Plan {
    /// Make the plan for `entry` on the machine `state` describes; fails when
    /// the command line cannot be given to the image.
    pub fn build(
        root: &Root,
        entry: BootEntry,
        opts: &PlanOptions,
        state: KexecState,
        net: Net,
    ) -> Result<Plan, CmdlineError> {
        let (base, source) = base_cmdline(root, &entry, &state);
        let mark = crate::safety::new_id();
        match &opts.cmdline {
            Some(given) => refuse_open_quote(|| "--cmdline".into(), given)?,
            // What --remove takes away cannot hide anything.
            None => refuse_open_quote(|| source.to_string(), &cmdline::edit(&base, None, &opts.remove, &[]))?,
        }
        for a in &opts.append {
            refuse_open_quote(|| format!("--append {a:?}"), a)?;
        }
        let line = cmdline::edit(&base, opts.cmdline.as_deref(), &opts.remove, &opts.append);
        let line = with_net_words(&line, &mark, &net)?;
        let cmdline_source = if opts.cmdline.is_some() { CmdlineSource::Given } else { source };
        let cmdline = KernelCmdline::new(&line, &entry.kernel, entry.cmdline_size)?;
        let initrds = if opts.allow.no_initrd {
            Vec::new()
        } else if !opts.initrds.is_empty() {
            opts.initrds.clone()
        } else {
            entry.initrds.clone()
        };
        Ok(Plan {
            syscall: syscall::predict(&state),
            mode: opts.mode.map(|m| m.resolve(&state)),
            initrds,
            cmdline,
            cmdline_source,
            allow: opts.allow,
            entry,
            state,
            mark,
            net,
        })
    }

    /// The kernel file, as the system sees it.
    pub fn kernel(&self) -> &std::path::Path {
        &self.entry.kernel
    }

    pub fn version(&self) -> &str {
        &self.entry.version
    }
}

/// The plan as programs read it (docs/fleet.md): a stable set of fields.
impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            id: &'a str,
            version: &'a str,
            kernel: &'a std::path::Path,
            initrds: &'a [PathBuf],
            cmdline: &'a str,
            cmdline_source: String,
            syscall: syscall::Syscall,
            syscall_reason: &'a str,
            mode: Option<Mode>,
            watchdog: Option<WatchdogJson<'a>>,
            /// The whole safety line: watchdog and where a reset leads.
            watchdog_note: String,
            /// The one-time entry back to the running kernel; null when the
            /// boot loader's default comes back (`fallback_note` says why).
            fallback: Option<&'a crate::safety::fallback::OneTime>,
            fallback_note: String,
        }
        #[derive(Serialize)]
        struct WatchdogJson<'a> {
            kind: Kind,
            /// None for the software net.
            device: Option<&'a std::path::Path>,
            timeout: u32,
            reset_after: u32,
            /// The driver the new kernel's command line holds back (softdog: loads).
            module: Option<&'a str>,
            armed_by: ArmedBy,
        }
        Json {
            watchdog: self.net.watchdog.as_ref().map(|g| WatchdogJson {
                kind: g.kind(),
                device: match g {
                    Guard::Hardware(w) => Some(&w.device),
                    Guard::Ipmi(c) => Some(&c.device),
                    Guard::Software(_) => None,
                },
                timeout: g.timeout(),
                reset_after: match g {
                    Guard::Hardware(w) => w.reset_after,
                    _ => g.timeout(),
                },
                module: g.module(),
                armed_by: match g {
                    Guard::Hardware(w) => w.armed_by,
                    _ => ArmedBy::KexecChooser,
                },
            }),
            watchdog_note: self.net.describe(),
            fallback: self.net.fallback.one_time(),
            fallback_note: self.net.fallback.describe(),
            id: &self.entry.id,
            version: &self.entry.version,
            kernel: &self.entry.kernel,
            initrds: &self.initrds,
            cmdline: self.cmdline.as_str(),
            cmdline_source: self.cmdline_source.to_string(),
            syscall: self.syscall.syscall,
            syscall_reason: &self.syscall.reason,
            mode: self.mode,
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kexec::preflight::tests::{entry, machine};
    use crate::testing::TempRoot;

    #[test]
    fn cmdline_is_checked_for_length_and_nul_once() {
        let k = std::path::Path::new("/boot/vmlinuz-x");
        assert_eq!(KernelCmdline::new("root=/dev/vda", k, Some(13)).unwrap().as_str(), "root=/dev/vda");
        let e = KernelCmdline::new("root=/dev/vda", k, Some(12)).unwrap_err();
        assert_eq!(e.to_string(), "the command line is 13 bytes, longer than the 12 that /boot/vmlinuz-x accepts");
        assert_eq!(KernelCmdline::new("a\0b", k, None).unwrap_err(), CmdlineError::Nul);
        assert_eq!(KernelCmdline::new("x", k, None).unwrap().as_c_str().to_bytes_with_nul(), b"x\0");
    }

    #[test]
    fn auto_follows_systemd_and_the_others_are_what_they_say() {
        let mut state = KexecState::default();
        assert_eq!(ModeChoice::Auto.resolve(&state), Mode::Direct);
        state.systemd = true;
        assert_eq!(ModeChoice::Auto.resolve(&state), Mode::Systemd);
        assert_eq!(ModeChoice::Direct.resolve(&state), Mode::Direct);
        state.systemd = false;
        assert_eq!(ModeChoice::Systemd.resolve(&state), Mode::Systemd);
    }

    #[test]
    fn the_net_words_keep_a_blacklist_already_there() {
        let w = crate::safety::watchdog::tests::esb_choice(600);
        let net = Net { watchdog: Some(Guard::Hardware(w)), ..Net::default() };
        let line = with_net_words("root=/dev/vda modprobe.blacklist=nouveau quiet", "ab12", &net).unwrap();
        assert_eq!(
            line,
            "root=/dev/vda quiet kexec_chooser.boot=ab12 watchdog.handle_boot_enabled=0 \
             modprobe.blacklist=nouveau,i6300esb i6300esb.heartbeat=600"
        );
        let line = with_net_words("root=/dev/vda", "ab12", &Net::default()).unwrap();
        assert_eq!(line, "root=/dev/vda kexec_chooser.boot=ab12");
        assert!(Net::default().describe().starts_with(net::NO_WATCHDOG));
    }

    #[test]
    fn cmdline_sources_read_as_documented() {
        assert_eq!(CmdlineSource::Entry(Source::Bls).to_string(), "the BLS entry");
        assert_eq!(CmdlineSource::Entry(Source::Vmlinuz).to_string(), "the boot entry");
        assert_eq!(CmdlineSource::ProcCmdline.to_string(), "/proc/cmdline");
        assert_eq!(CmdlineSource::Given.to_string(), "--cmdline");
    }

    fn net_with_esb() -> Net {
        let w = crate::safety::watchdog::Choice {
            heartbeat_param: None,
            ..crate::safety::watchdog::tests::esb_choice(600)
        };
        Net { watchdog: Some(Guard::Hardware(w)), ..Net::default() }
    }

    fn build(m: &TempRoot, opts: &PlanOptions) -> Result<Plan, CmdlineError> {
        Plan::build(&m.root(), entry("6.1.0-9-amd64"), opts, KexecState::read(&m.root()), net_with_esb())
    }

    #[test]
    fn an_open_quote_is_refused_naming_where_it_came_from() {
        let m = machine();
        m.write("/proc/cmdline", b"root=/dev/vda ro\n");
        let append = PlanOptions { append: vec!["foo=\"bar".into()], ..PlanOptions::default() };
        let e = build(&m, &append).unwrap_err();
        assert!(matches!(e, CmdlineError::UnbalancedQuote { .. }), "{e}");
        assert!(e.to_string().starts_with("--append \"foo=\\\"bar\": the double quote"), "{e}");
        let given = PlanOptions { cmdline: Some("root=/dev/vda x=\"".into()), ..PlanOptions::default() };
        assert!(build(&m, &given).unwrap_err().to_string().starts_with("--cmdline: "));
        m.write("/proc/cmdline", b"root=/dev/vda foo=\"bar ro\n");
        let e = build(&m, &PlanOptions::default()).unwrap_err();
        assert!(e.to_string().starts_with("/proc/cmdline: the double quote"), "{e}");
        // Dropping the word with --remove is the way out (` ro` was part of
        // its value, as the kernel read it too).
        let removed = PlanOptions { remove: vec!["foo".into()], ..PlanOptions::default() };
        let p = build(&m, &removed).unwrap();
        assert!(p.cmdline.as_str().starts_with("root=/dev/vda kexec_chooser.boot="), "{}", p.cmdline);
        m.write("/etc/kernel/cmdline", b"root=/dev/vda \"quiet\n");
        let e = build(&m, &PlanOptions::default()).unwrap_err();
        assert!(e.to_string().starts_with("/etc/kernel/cmdline: "), "{e}");
    }

    #[test]
    fn the_net_words_go_before_the_words_for_init() {
        let m = machine();
        m.write("/proc/cmdline", b"root=/dev/vda ro -- splash\n");
        let opts = PlanOptions { append: vec!["-- single".into(), "quiet".into()], ..PlanOptions::default() };
        let p = build(&m, &opts).unwrap();
        let line = p.cmdline.as_str();
        let view = cmdline::kernel_view(line);
        assert_eq!(view.init, ["splash", "single"], "{line}");
        for w in ["kexec_chooser.boot", "watchdog.handle_boot_enabled", "modprobe.blacklist", "quiet"] {
            assert!(view.params.iter().any(|x| x.name == w), "{w} in {line}");
        }
        assert_eq!(crate::safety::boot_mark(line), Some(p.mark.clone()));
    }

    #[test]
    fn a_conflicting_word_spelled_with_dashes_is_replaced_by_the_nets() {
        let m = machine();
        m.write("/proc/cmdline", b"root=/dev/vda watchdog.handle-boot-enabled=1\n");
        let p = build(&m, &PlanOptions::default()).unwrap();
        let view = cmdline::kernel_view(p.cmdline.as_str());
        assert_eq!(view.last("watchdog.handle_boot_enabled").unwrap().value.as_deref(), Some("0"), "{}", p.cmdline);
    }

    #[test]
    fn the_software_nets_words_join_the_lines_module_lists() {
        let c = crate::safety::software::Choice { timeout: 90, softdog: true, panic_before: Some("0".into()) };
        let net = Net { watchdog: Some(Guard::Software(c)), ..Net::default() };
        let line = with_net_words("root=/dev/vda modules_load=dm_mod panic=-1", "ab12", &net).unwrap();
        assert_eq!(
            line,
            "root=/dev/vda kexec_chooser.boot=ab12 panic=90 modules_load=dm_mod,softdog softdog.soft_margin=90 \
             softdog.soft_active_on_boot=1 watchdog.handle_boot_enabled=0"
        );
        let c = crate::safety::software::Choice { timeout: 90, softdog: false, panic_before: None };
        let net = Net { watchdog: Some(Guard::Software(c)), ..Net::default() };
        assert_eq!(
            with_net_words("root=/dev/vda", "ab12", &net).unwrap(),
            "root=/dev/vda kexec_chooser.boot=ab12 panic=90"
        );
    }
}
