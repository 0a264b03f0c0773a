//! Which load syscall is used, and why: `kexec_file_load` first everywhere;
//! on arm64, when it is missing (ENOSYS: Debian's kernels are built without
//! CONFIG_KEXEC_FILE), the native `kexec_load` path, unless the kernel is
//! locked down (lockdown refuses `kexec_load` outright: its segments cannot
//! be verified). x86_64 stays on `kexec_file_load`: its native path would need
//! a bzImage loader, boot_params and a purgatory of its own, not written yet.

use serde::Serialize;

use crate::image::Arch;

use super::state::{Config, KexecState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Syscall {
    KexecFileLoad,
    KexecLoad,
}

impl std::fmt::Display for Syscall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Syscall::KexecFileLoad => "kexec_file_load",
            Syscall::KexecLoad => "kexec_load",
        })
    }
}

/// The syscall a load would use and the reason, for `--dry-run` and `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub syscall: Syscall,
    pub reason: String,
}

/// Whether the native path exists on `arch`.
pub fn native_supported(arch: Option<Arch>) -> bool {
    arch == Some(Arch::Aarch64)
}

/// Why `kexec_load` may not be used after `kexec_file_load` gave ENOSYS;
/// `None` when it may.
pub fn native_refused(state: &KexecState, arch: Option<Arch>) -> Option<String> {
    if !native_supported(arch) {
        return Some("kexec-chooser has a native kexec_load path on arm64 only".into());
    }
    if state.locked_down() {
        return Some(format!(
            "the kernel is locked down ({}), and lockdown refuses kexec_load",
            state.lockdown.as_deref().unwrap_or("on")
        ));
    }
    None
}

/// Predict the syscall from the running kernel's architecture, config and lockdown.
pub fn predict(state: &KexecState) -> Choice {
    predict_on(state, state.arch)
}

/// [`predict`] as if running on `arch`.
pub fn predict_on(state: &KexecState, arch: Option<Arch>) -> Choice {
    let file = |reason: &str| Choice { syscall: Syscall::KexecFileLoad, reason: reason.into() };
    if !native_supported(arch) {
        return file("kexec_file_load is the only load path on this architecture");
    }
    match (state.config_kexec_file, native_refused(state, arch)) {
        (Config::Yes, _) => file("the running kernel has CONFIG_KEXEC_FILE"),
        (Config::No, None) => Choice {
            syscall: Syscall::KexecLoad,
            reason: "the running kernel has no CONFIG_KEXEC_FILE (kexec_file_load gives ENOSYS) and lockdown is off"
                .into(),
        },
        (Config::No, Some(why)) => Choice {
            syscall: Syscall::KexecLoad,
            reason: format!("the running kernel has no CONFIG_KEXEC_FILE, but {why}: loading will fail"),
        },
        (Config::Unknown, _) => {
            file("tried first (no /boot/config of the running kernel); on ENOSYS kexec_load, unless locked down")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(config: Config, lockdown: Option<&str>) -> KexecState {
        KexecState {
            lockdown: lockdown.map(str::to_string),
            config_kexec_file: config,
            config_kexec_sig: Config::No,
            config_kexec_sig_force: Config::No,
            ..KexecState::default()
        }
    }

    #[test]
    fn arm64_without_kexec_file_predicts_kexec_load() {
        let c = predict_on(&state(Config::No, Some("none")), Some(Arch::Aarch64));
        assert_eq!(c.syscall, Syscall::KexecLoad);
        assert!(c.reason.contains("CONFIG_KEXEC_FILE"));
        assert_eq!(serde_json::to_string(&c.syscall).unwrap(), "\"kexec_load\"");
    }

    #[test]
    fn arm64_with_kexec_file_or_unknown_config_tries_kexec_file_load_first() {
        assert_eq!(predict_on(&state(Config::Yes, None), Some(Arch::Aarch64)).syscall, Syscall::KexecFileLoad);
        let c = predict_on(&state(Config::Unknown, None), Some(Arch::Aarch64));
        assert_eq!(c.syscall, Syscall::KexecFileLoad);
        assert!(c.reason.contains("ENOSYS"));
    }

    #[test]
    fn lockdown_refuses_the_native_path_and_says_so() {
        let s = state(Config::No, Some("integrity"));
        let why = native_refused(&s, Some(Arch::Aarch64)).unwrap();
        assert!(why.contains("locked down (integrity)") && why.contains("refuses kexec_load"), "{why}");
        assert!(predict_on(&s, Some(Arch::Aarch64)).reason.contains("loading will fail"));
        assert_eq!(native_refused(&state(Config::No, Some("none")), Some(Arch::Aarch64)), None);
        assert_eq!(native_refused(&state(Config::No, None), Some(Arch::Aarch64)), None);
    }

    #[test]
    fn x86_64_stays_on_kexec_file_load() {
        let s = state(Config::No, Some("none"));
        assert_eq!(predict_on(&s, Some(Arch::X86_64)).syscall, Syscall::KexecFileLoad);
        assert!(native_refused(&s, Some(Arch::X86_64)).unwrap().contains("arm64 only"));
    }
}
