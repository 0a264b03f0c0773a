//! The load syscall as the CLI reports it: the `--dry-run --json`
//! plan and `status` say which syscall a load would use and why. These run
//! on the x86_64 CI host, where the answer is always kexec_file_load; the
//! arm64 answer (kexec_load) is proven in tests/vm/arm64.py.

use crate::common::{run, stderr, stdout, tree_copy};
use serde_json::Value;

#[test]
#[cfg(target_arch = "x86_64")]
fn x86_64_plan_says_kexec_file_load_even_without_config_kexec_file() {
    let t = tree_copy("debian");
    // The running kernel's config says no kexec_file_load: x86_64 has no
    // native path, so the plan still names kexec_file_load and says why.
    std::fs::create_dir_all(t.path().join("proc/sys/kernel")).unwrap();
    std::fs::write(t.path().join("proc/sys/kernel/osrelease"), "6.1.0-56-amd64\n").unwrap();
    std::fs::write(t.path().join("boot/config-6.1.0-56-amd64"), "# CONFIG_KEXEC_FILE is not set\n").unwrap();
    let o = run(&["reboot", "--dry-run", "--json", "latest", "--root", t.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["syscall"], "kexec_file_load");
    assert!(p["syscall_reason"].as_str().unwrap().contains("only load path"), "{p}");
    let o = run(&["reboot", "--dry-run", "latest", "--root", t.path().to_str().unwrap()]);
    assert!(stdout(&o).contains("syscall:   kexec_file_load ("), "{}", stdout(&o));
}

#[test]
fn status_names_the_load_syscall() {
    let t = tree_copy("debian");
    let o = run(&["status", "--json", "--root", t.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    let sc = s["syscall"].as_str().unwrap();
    assert!(sc == "kexec_file_load" || sc == "kexec_load", "{s}");
    assert!(!s["syscall_reason"].as_str().unwrap().is_empty());
    let o = run(&["status", "--root", t.path().to_str().unwrap()]);
    assert!(stdout(&o).contains(&format!("load syscall:            {sc} (")), "{}", stdout(&o));
}
