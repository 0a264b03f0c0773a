//! The small harness the integration tests share: run the binary, read its
//! output, find the fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The built `kexec-chooser` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kexec-chooser"))
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Run the binary with `args`, no stdin, and return what it did.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).stdin(Stdio::null()).env("NO_COLOR", "1").output().expect("run kexec-chooser")
}

/// Run the binary with `args`, feeding `input` on stdin.
pub fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        .spawn()
        .expect("spawn kexec-chooser");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait kexec-chooser");
    let _ = writer.join();
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether the tests run as root (root-only tests are `#[ignore = "needs root"]`
/// and run with `--include-ignored`; they still check this and fail loudly).
pub fn is_root() -> bool {
    nix_uid() == 0
}

fn nix_uid() -> u32 {
    // /proc/self/status avoids a libc dependency in the tests.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|u| u.parse().ok()))
        })
        .unwrap_or(u32::MAX)
}

/// Copy a fixture tree into `dst`, keeping symlinks as symlinks.
pub fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("create tree copy");
    for ent in std::fs::read_dir(src).expect("read fixture dir") {
        let ent = ent.expect("dir entry");
        let from = ent.path();
        let to = dst.join(ent.file_name());
        let ft = ent.file_type().expect("file type");
        if ft.is_symlink() {
            let target = std::fs::read_link(&from).expect("readlink");
            std::os::unix::fs::symlink(target, &to).expect("symlink");
        } else if ft.is_dir() {
            copy_tree(&from, &to);
        } else {
            std::fs::copy(&from, &to).expect("copy file");
        }
    }
}

/// The committed trees hold only the first 64 KiB of each kernel, so a file
/// is shorter than its header says the image is. Extend each such file to
/// the length its header claims (sparse: no disk is used), so discovery sees
/// whole images; what is not a kernel is left as it is.
fn inflate(dir: &Path) {
    for ent in std::fs::read_dir(dir).expect("read tree") {
        let ent = ent.expect("dir entry");
        let ft = ent.file_type().expect("file type");
        if ft.is_dir() {
            inflate(&ent.path());
        } else if ft.is_file() {
            let file = std::fs::File::open(ent.path()).expect("open");
            let head = kexec_chooser::image::read_head(&file).expect("read head");
            if let Ok(id) = kexec_chooser::image::identify(&head) {
                let len = ent.metadata().expect("stat").len();
                if let Some(need) = id.min_file_len.filter(|&n| n > len) {
                    let f = std::fs::OpenOptions::new().write(true).open(ent.path()).expect("open");
                    f.set_len(need).expect("extend");
                }
            }
        }
    }
}

/// A temporary copy of fixture tree `name` with whole images, to change
/// without touching the committed tree.
pub fn tree_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture(name), dir.path());
    inflate(dir.path());
    dir
}

/// Fixture tree `name` with whole images, made once per test process.
pub fn root(name: &str) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static TREES: OnceLock<Mutex<HashMap<String, tempfile::TempDir>>> = OnceLock::new();
    let mut trees = TREES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    trees.entry(name.to_owned()).or_insert_with(|| tree_copy(name)).path().to_path_buf()
}

/// `list --json --root ROOT` parsed.
pub fn list_json(root: &Path) -> Vec<serde_json::Value> {
    let o = run(&["list", "--json", "--root", root.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "list failed: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("list --json is JSON")
}

/// A plan's JSON with the safety net's boot mark taken out of its command
/// line (it is random per run), after checking that there is one; and, on
/// a machine with no hardware watchdog (every fixture tree without one),
/// the software net's words, after checking that they are all there.
pub fn plan_json(stdout: &[u8]) -> serde_json::Value {
    let mut p: serde_json::Value = serde_json::from_slice(stdout).expect("plan JSON");
    let line = p["cmdline"].as_str().expect("cmdline").to_string();
    let (marks, mut rest): (Vec<&str>, Vec<&str>) = line.split(' ').partition(|w| w.starts_with("kexec_chooser.boot="));
    assert_eq!(marks.len(), 1, "one boot mark: {line}");
    let id = &marks[0]["kexec_chooser.boot=".len()..];
    assert!(id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
    if p["watchdog"]["kind"] == "software" {
        let t = &p["watchdog"]["timeout"];
        let words = [
            format!("panic={t}"),
            "modules_load=softdog".into(),
            format!("softdog.soft_margin={t}"),
            "softdog.soft_active_on_boot=1".into(),
            "watchdog.handle_boot_enabled=0".into(),
        ];
        for w in &words {
            let at = rest.iter().position(|x| x == w).unwrap_or_else(|| panic!("no {w} in {line}"));
            rest.remove(at);
        }
    }
    p["cmdline"] = rest.join(" ").into();
    p
}
