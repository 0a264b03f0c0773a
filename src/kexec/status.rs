//! `kexec-chooser status`: whether kexec is possible here and why not, the
//! running kernel's state, how a warm reboot would go, and how the last one
//! ended.

use crate::root::Root;
use crate::safety::record::{LastWarmReboot, Store};
use crate::sys::System;

use super::plan::{Mode, ModeChoice};
use super::state::Config;
use super::syscall::{self, Syscall};
use super::KexecState;

/// What `status` tells.
#[derive(Debug, serde::Serialize)]
pub struct Status {
    pub possible: bool,
    pub reasons: Vec<String>,
    pub cap_sys_boot: bool,
    #[serde(flatten)]
    pub state: KexecState,
    pub auto_mode: Mode,
    /// The load syscall (`kexec_file_load` or `kexec_load`) and why.
    pub syscall: Syscall,
    pub syscall_reason: String,
    /// The newest warm reboot and how it ended; `None` when there never
    /// was one. A record that cannot be read says so (`result: damaged`).
    pub last_warm_reboot: Option<LastWarmReboot>,
}

/// Read the running kernel's state once and judge it.
pub fn status(root: &Root, sys: &dyn System) -> Status {
    let state = KexecState::read(root);
    let cap = sys.has_cap_sys_boot();
    let mut reasons = Vec::new();
    if !cap {
        reasons.push("no CAP_SYS_BOOT: run as root".to_string());
    }
    if state.load_disabled == Some(true) {
        reasons.push("kexec_load_disabled is 1 until the next boot".to_string());
    }
    if state.limit_used_up() {
        reasons.push("kexec_load_limit_reboot is used up".to_string());
    }
    if state.config_kexec_file == Config::No {
        // arm64 has the native kexec_load path, refused only under lockdown.
        if let Some(why) = syscall::native_refused(&state, state.arch) {
            reasons.push(format!("the running kernel has no CONFIG_KEXEC_FILE and {why}"));
        }
    }
    let possible = reasons.is_empty();
    if state.locked_down() {
        reasons.push(format!(
            "lockdown is {}: only kernels signed with a trusted key load",
            state.lockdown.as_deref().unwrap_or("on")
        ));
    }
    if state.config_kexec_sig_force == Config::Yes {
        reasons.push("CONFIG_KEXEC_SIG_FORCE: only signed kernels load".to_string());
    }
    let choice = syscall::predict(&state);
    let last_warm_reboot = match Store::new(root).last() {
        Ok(r) => r.as_ref().map(LastWarmReboot::from),
        Err(e) => Some(LastWarmReboot::damaged(&e)),
    };
    Status {
        last_warm_reboot,
        possible,
        reasons,
        cap_sys_boot: cap,
        auto_mode: ModeChoice::Auto.resolve(&state),
        syscall: choice.syscall,
        syscall_reason: choice.reason,
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kexec::preflight::tests::machine;
    use crate::sys::fake::Fake;

    #[test]
    fn status_says_why_kexec_is_impossible() {
        let m = machine();
        m.write("/proc/sys/kernel/kexec_load_disabled", b"1\n");
        let s = status(&m.root(), &Fake { cap_sys_boot: false, ..Fake::default() });
        assert!(!s.possible);
        assert_eq!(s.reasons.len(), 2, "{:?}", s.reasons);
        let s = status(&machine().root(), &Fake::default());
        assert!(s.possible, "{:?}", s.reasons);
        assert!(s.last_warm_reboot.is_none(), "never: null");
    }

    #[test]
    fn a_damaged_record_is_reported_as_damaged_not_as_never() {
        let m = machine();
        m.write("/var/lib/kexec-chooser/pending.json", b"{\"id\": 1");
        let s = status(&m.root(), &Fake::default());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["last_warm_reboot"]["result"], "damaged", "{v}");
        let error = v["last_warm_reboot"]["error"].as_str().unwrap();
        assert!(error.contains("/var/lib/kexec-chooser/pending.json"), "{error}");
    }
}
