//! The one source of random bytes: the kernel's generator (`getrandom(2)`).
//!
//! Two needs, two calls. What must be unpredictable (arm64's `kaslr-seed`
//! and `rng-seed`, multipart boundaries a server must not guess) waits for
//! the generator to be seeded ([`fill`]), which it is long after boot.
//! What must only differ from run to run (temporary files' names, the
//! warm-reboot record ids) never waits ([`unique_u64`]): early in a boot
//! (`confirm`, a busybox init, a guest without a hardware RNG) a waiting
//! call can block for minutes, so the generator is asked not to wait, and
//! time and pid stand in when it has nothing to give.
//!
//! The getrandom crate does the first well but has no call that never
//! waits, so both are these few lines over libc.

use nix::errno::Errno;

/// Fill `buf` from the kernel's generator, waiting until it is seeded.
pub fn fill(buf: &mut [u8]) -> Result<(), Errno> {
    let mut done = 0;
    while let Some(rest) = buf.get_mut(done..) {
        if rest.is_empty() {
            break;
        }
        // SAFETY: `rest` is a writable buffer of `rest.len()` bytes that the
        // kernel fills with at most that many bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        match Errno::result(n) {
            Ok(n) => done = done.saturating_add(usize::try_from(n).map_err(|_| Errno::EIO)?),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

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
    use super::*;

    #[test]
    fn two_calls_differ() {
        assert_ne!(unique_u64(), unique_u64());
    }

    #[test]
    fn fill_fills_the_whole_buffer() {
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        fill(&mut a).unwrap();
        fill(&mut b).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 64]);
    }
}
