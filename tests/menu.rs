//! The menu on a real pseudo-terminal: a person's keys, not a pipe.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, bin};

struct Session {
    master: std::fs::File,
    child: std::process::Child,
}

fn start(args: &[&str]) -> Session {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave: OwnedFd = pty.slave;
    let dup = |fd: &OwnedFd| Stdio::from(fd.as_fd().try_clone_to_owned().expect("dup"));
    let child = Command::new(bin())
        .args(args)
        .env("TERM", "xterm")
        .stdin(dup(&slave))
        .stdout(dup(&slave))
        .stderr(dup(&slave))
        .spawn()
        .expect("spawn");
    drop(slave);
    Session { master: std::fs::File::from(pty.master), child }
}

impl Session {
    /// Read what the terminal shows until `needle` appears (or 10 s pass).
    fn read_until(&mut self, needle: &str) -> String {
        let fd = self.master.as_fd().try_clone_to_owned().expect("dup master");
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK)).expect("nonblock");
        let mut f = std::fs::File::from(fd);
        let mut seen = Vec::new();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            let mut buf = [0u8; 4096];
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break, // EIO: the child closed the terminal
            }
            if String::from_utf8_lossy(&seen).contains(needle) {
                break;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    }

    fn keys(&mut self, k: &[u8]) {
        self.master.write_all(k).expect("type");
    }

    fn wait(mut self) -> (Option<i32>, String) {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                let rest = self.read_until("\u{0}never");
                return (st.code(), rest);
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("kexec-chooser did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn root() -> String {
    common::root("debian").to_str().unwrap().to_owned()
}

#[test]
fn menu_lists_newest_first_with_marks_and_enter_picks_the_default() {
    let r = root();
    let mut s = start(&["reboot", "--dry-run", "--root", &r]);
    let screen = s.read_until("[default]");
    assert!(screen.contains("Warm-reboot into which kernel"), "{screen:?}");
    assert!(screen.contains("6.1.0-13-amd64 [running]"), "{screen:?}");
    s.keys(b"\r");
    let (code, out) = s.wait();
    assert_eq!(code, Some(0), "{out:?}");
    assert!(out.contains("kernel:    /boot/vmlinuz-6.1.0-9-amd64"), "the cursor starts on the default: {out:?}");
}

#[test]
fn ctrl_c_in_the_menu_restores_the_cursor_and_exits_130() {
    let r = root();
    let mut s = start(&["reboot", "--dry-run", "--root", &r]);
    s.read_until("[default]");
    s.keys(b"\x03");
    let (code, out) = s.wait();
    assert_eq!(code, Some(130), "{out:?}");
    assert!(out.contains("\x1b[?25h"), "cursor shown again: {out:?}");
}

#[test]
fn escape_cancels_and_nothing_is_planned() {
    let r = root();
    let mut s = start(&["reboot", "--dry-run", "--root", &r]);
    s.read_until("[default]");
    s.keys(b"\x1b");
    let (code, out) = s.wait();
    assert_eq!(code, Some(1), "{out:?}");
    assert!(out.contains("no kernel was chosen") && !out.contains("kernel:    "), "{out:?}");
}

#[test]
fn control_characters_in_names_are_escaped_and_the_redraw_holds() {
    let t = common::tree_copy("debian");
    let evil = "vmlinuz-6.1.0-10-amd64\n\x1b]0;owned\x07";
    std::fs::rename(t.path().join("boot/vmlinuz-6.1.0-10-amd64"), t.path().join("boot").join(evil)).unwrap();
    let r = t.path().to_str().unwrap().to_owned();
    let mut s = start(&["reboot", "--dry-run", "--root", &r]);
    let screen = s.read_until("[default]");
    assert!(!screen.contains("\x1b]0;owned") && !screen.contains('\x07'), "{screen:?}");
    assert!(screen.contains("/boot/vmlinuz-6.1.0-10-amd64\\012\\033]0;owned\\007"), "{screen:?}");
    // The cursor starts on the default (6.1.0-9, the last line); one up is
    // the escaped entry, as long as every item is one line.
    s.keys(b"\x1b[A");
    s.keys(b"\r");
    let (code, out) = s.wait();
    assert_eq!(code, Some(0), "{out:?}");
    assert!(out.contains("version:   6.1.0-10-amd64"), "{out:?}");
}
