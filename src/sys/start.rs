//! What the process sets up before anything else runs, in place of Rust's own
//! start-up code.
//!
//! `src/main.rs` is a C `main` (`#![no_main]`): std's `lang_start` is skipped
//! because on this project's machines it took about 120 µs of a 1.4 ms `disk`
//! run, most of it glibc's `pthread_getattr_np` reading `/proc/self/maps` to
//! place a guard page for a stack-overflow message (docs/disk.md, Speed).
//! The two parts of that start-up a program relies on are done here.

use std::ffi::{c_char, c_int, CStr, OsString};
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStringExt;

/// Make the process ready the way std's start-up does on Linux:
///
/// - standard input, output and error that are closed are opened on
///   `/dev/null`, so that a file this process opens never becomes its fd 1
///   and receives what it prints;
/// - `SIGPIPE` is ignored, so that writing to a closed pipe is an `EPIPE`
///   error (which the CLI reports as a normal end: the reader has all it
///   wanted) instead of a silent death. Child processes still start with the
///   default disposition: std's `Command` resets it.
pub fn init() {
    for fd in 0..=2 {
        if !is_open(fd) {
            open_dev_null(fd);
        }
    }
    // SAFETY: SIG_IGN installs no handler code, so nothing runs in signal context.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // One malloc arena for every thread: a thread's first allocation otherwise
    // maps a 128 MiB arena and unmaps most of it again, about 20 µs for
    // `disk`'s watchdog; no thread here allocates enough to contend. (glibc
    // only: musl, of the static arm64 build, has one heap and no mallopt.)
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets a tunable of glibc's allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// The program's arguments, from C `main`'s `argc` and `argv`.
///
/// std's own `env::args` is filled by its start-up code, which a C `main`
/// skips; glibc hands them to std anyway, musl (the static arm64 build) does
/// not. These are the kernel's, on every libc.
///
/// # Safety
/// `argv` must hold `argc` pointers, each null or to a NUL-terminated
/// string, as the C runtime passes them to `main`.
pub unsafe fn args(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    let n = usize::try_from(argc).unwrap_or(0);
    if argv.is_null() {
        return Vec::new();
    }
    (0..n)
        .filter_map(|i| {
            // SAFETY: i < argc, and argv holds argc pointers (the contract).
            let p = unsafe { *argv.add(i) };
            // SAFETY: a non-null entry is a NUL-terminated string (the contract).
            (!p.is_null()).then(|| OsString::from_vec(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()))
        })
        .collect()
}

fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD reads the descriptor's flags and changes nothing.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

fn open_dev_null(fd: RawFd) {
    // SAFETY: the path is a NUL-terminated literal. The lowest free descriptor
    // is `fd` itself, since every lower one is open (checked in order above).
    let got = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
    if got != fd {
        // Without /dev/null (a broken chroot) std aborts too: carrying on could
        // write this process's output into a file it opened.
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_are_read_from_argc_and_argv_as_bytes() {
        let words = [c"kexec-chooser", c"disk", c"/caf\xe9"];
        let argv: Vec<*const c_char> = words.iter().map(|w| w.as_ptr()).collect();
        // SAFETY: three pointers to NUL-terminated literals.
        let got = unsafe { args(3, argv.as_ptr()) };
        let want: Vec<OsString> =
            words.iter().map(|w| OsString::from_vec(w.to_bytes().to_vec())).collect();
        assert_eq!(got, want);
        // SAFETY: no pointer is read for argc 0 or a null argv.
        assert!(unsafe { args(0, argv.as_ptr()) }.is_empty());
        assert!(unsafe { args(2, std::ptr::null()) }.is_empty());
    }

    #[test]
    fn the_standard_descriptors_of_a_test_are_open() {
        assert!(is_open(0) && is_open(1) && is_open(2));
        assert!(!is_open(-1));
    }
}
