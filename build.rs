//! Link GCC's unwinder into the binary (libgcc_eh.a) instead of loading
//! libgcc_s.so.1 at every start.
//!
//! Rust's std asks the linker for `-lgcc_s` on linux-gnu. Loading that one
//! library (open, map, relocate, run its CPU-feature constructor) cost about
//! 80 µs of every run on the project's machines, more than half of what
//! `disk` lost to df (docs/disk.md, Speed). GNU ld searches `-L` directories
//! before its own, so a linker script named libgcc_s.so here turns the
//! request into the static archive, as `gcc -static-libgcc` does for C++.
//! Nothing this program loads uses libgcc_s itself, so there is one unwinder.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let is = |key: &str, value: &str| std::env::var(key).is_ok_and(|v| v == value);
    if !(is("CARGO_CFG_TARGET_OS", "linux") && is("CARGO_CFG_TARGET_ENV", "gnu")) {
        return;
    }
    let Some(out) = std::env::var_os("OUT_DIR") else {
        return;
    };
    let dir = PathBuf::from(out).join("static-libgcc");
    let script = "/* kexec-chooser's build.rs: the unwinder, statically */\nINPUT(-lgcc_eh)\n";
    if std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("libgcc_s.so"), script))
        .is_err()
    {
        println!("cargo:warning=cannot write {}: linking libgcc_s dynamically", dir.display());
        return;
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
}
