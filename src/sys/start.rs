//! What the process sets up before anything else runs, in place of Rust's own
//! start-up code.
//!
//! `src/main.rs` is a C `main` (`#![no_main]`): std's `lang_start` is skipped
//! because on this project's machines it took about 120 µs of a 1.4 ms `disk`
//! run, most of it glibc's `pthread_getattr_np` reading `/proc/self/maps` to
//! place a guard page for a stack-overflow message (docs/disk.md, Speed).
//! The two parts of that start-up a program relies on are done here.

use std::os::fd::RawFd;

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
    // `disk`'s watchdog; no thread here allocates enough to contend.
    // SAFETY: mallopt only sets a tunable of glibc's allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
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
    fn the_standard_descriptors_of_a_test_are_open() {
        assert!(is_open(0) && is_open(1) && is_open(2));
        assert!(!is_open(-1));
    }
}
