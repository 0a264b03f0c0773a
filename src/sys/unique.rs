//! Unique names that never wait for the kernel's entropy: the temporary
//! files' names and the warm-reboot record ids. Early in a boot (`confirm`,
//! a busybox init, a guest without a hardware RNG) `getrandom(2)` without
//! flags blocks until the kernel's generator is seeded, which can take
//! minutes; these values need to differ, not to be secret, so the kernel's
//! generator is asked not to wait, and time and pid stand in when it has
//! nothing to give.

/// Eight bytes that differ from run to run.
pub fn unique_u64() -> u64 {
    let mut b = [0u8; 8];
    // GRND_INSECURE (Linux 5.6+) never blocks; GRND_NONBLOCK on older kernels
    // fails with EAGAIN instead of waiting.
    for flags in [libc::GRND_INSECURE, libc::GRND_NONBLOCK] {
        // SAFETY: `b` is 8 writable bytes, and the kernel writes at most that.
        let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), flags) };
        if usize::try_from(n).is_ok_and(|n| n == b.len()) {
            return u64::from_ne_bytes(b);
        }
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ (u64::from(std::process::id()) << 32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_calls_differ() {
        assert_ne!(super::unique_u64(), super::unique_u64());
    }
}
