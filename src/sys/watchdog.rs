//! The raw hardware-watchdog interface (include/uapi/linux/watchdog.h,
//! Documentation/watchdog/watchdog-api.rst): open a device, identify it, set
//! its timeout, and either leave it armed for the hand-over or disarm it.
//!
//! Opening a watchdog device starts its timer (drivers/watchdog/watchdog_dev.c,
//! `watchdog_open` calls `watchdog_start`), and closing it without the magic
//! character `V` leaves it running ("watchdog did not stop!"). A [`Device`]
//! that goes out of scope is therefore disarmed; only
//! [`Device::close_armed`] leaves the timer running, so an error path can
//! never leave a machine that keeps running with a reset minutes away.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

/// `WDIOS_DISABLECARD`, the argument of `WDIOC_SETOPTIONS` that stops the timer.
pub const WDIOS_DISABLECARD: i32 = 0x0001;

/// `struct watchdog_info` as the kernel writes it for `WDIOC_GETSUPPORT`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RawInfo {
    options: u32,
    firmware_version: u32,
    identity: [u8; 32],
}

/// The request numbers, built by nix's macros exactly as the `_IOR`/`_IOWR`
/// macros of include/uapi/asm-generic/ioctl.h build them in
/// include/uapi/linux/watchdog.h (`WATCHDOG_IOCTL_BASE` is `'W'`).
mod raw {
    use super::RawInfo;
    nix::ioctl_read!(getsupport, b'W', 0, RawInfo);
    // Declared _IOR in the header although the kernel reads the argument.
    nix::ioctl_read!(setoptions, b'W', 4, libc::c_int);
    // Declared _IOR with an int the kernel never touches.
    nix::ioctl_read!(keepalive, b'W', 5, libc::c_int);
    nix::ioctl_readwrite!(settimeout, b'W', 6, libc::c_int);
}

/// What `WDIOC_GETSUPPORT` says about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// `WDIOF_*` bits the driver supports.
    pub options: u32,
    pub firmware_version: u32,
    /// The driver's name for the device ("i6300ESB timer", "iTCO_wdt"), up
    /// to the first NUL, lossily decoded.
    pub identity: String,
}

impl Info {
    fn from_raw(raw: &RawInfo) -> Info {
        let end = raw.identity.iter().position(|&b| b == 0).unwrap_or(raw.identity.len());
        let bytes = raw.identity.get(..end).unwrap_or(&[]);
        Info {
            options: raw.options,
            firmware_version: raw.firmware_version,
            identity: String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

/// Why a device could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open {}: {source}", crate::text::path(path))]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{} is not a character device", crate::text::path(path))]
    NotCharDevice { path: PathBuf },
}

/// An open watchdog device. Its timer runs from the open on; dropping it
/// disarms it (see the module documentation).
#[derive(Debug)]
pub struct Device {
    /// `None` once closed by one of the consuming methods.
    file: Option<File>,
}

impl Device {
    /// Open `path` for writing, close-on-exec, without following a symbolic
    /// link in its last component, without waiting (a FIFO planted at the
    /// path would otherwise block the open) and without becoming a
    /// controlling terminal; anything but a character device is refused
    /// and closed at once.
    ///
    /// The kernel allows one open at a time: `EBUSY` means another process
    /// (systemd's `RuntimeWatchdogSec=`, a watchdog daemon) holds it.
    pub fn open(path: &Path) -> Result<Device, OpenError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(|source| OpenError::Open { path: path.to_path_buf(), source })?;
        let meta = file.metadata().map_err(|source| OpenError::Open { path: path.to_path_buf(), source })?;
        if !meta.file_type().is_char_device() {
            return Err(OpenError::NotCharDevice { path: path.to_path_buf() });
        }
        Ok(Device { file: Some(file) })
    }

    fn fd(&self) -> Result<libc::c_int, Errno> {
        self.file.as_ref().map(|f| f.as_raw_fd()).ok_or(Errno::EBADF)
    }

    /// `WDIOC_GETSUPPORT`: identity and supported options.
    pub fn info(&self) -> Result<Info, Errno> {
        let fd = self.fd()?;
        let mut raw = RawInfo { options: 0, firmware_version: 0, identity: [0; 32] };
        // SAFETY: `fd` is open for the call; `raw` is a live, writable
        // `struct watchdog_info` of the size the request number encodes.
        unsafe { raw::getsupport(fd, &mut raw) }?;
        Ok(Info::from_raw(&raw))
    }

    /// `WDIOC_SETTIMEOUT`: returns the timeout the driver took, which may be
    /// rounded to what the hardware can count; `EINVAL` when out of its range.
    /// The core also pings the timer, so the new timeout counts from now.
    pub fn set_timeout(&mut self, seconds: u32) -> Result<u32, Errno> {
        let fd = self.fd()?;
        let mut v = libc::c_int::try_from(seconds).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `fd` is open; `v` is a live int the kernel reads and then
        // overwrites with the timeout it set.
        unsafe { raw::settimeout(fd, &mut v) }?;
        u32::try_from(v).map_err(|_| Errno::ERANGE)
    }

    /// `WDIOC_KEEPALIVE`: restart the countdown.
    pub fn keepalive(&mut self) -> Result<(), Errno> {
        let fd = self.fd()?;
        let mut unused: libc::c_int = 0;
        // SAFETY: `fd` is open; the kernel ignores the argument, which points
        // to a live int anyway.
        unsafe { raw::keepalive(fd, &mut unused) }?;
        Ok(())
    }

    /// `WDIOC_SETOPTIONS` with `WDIOS_DISABLECARD`: stop the timer while the
    /// device stays open; `EBUSY` under nowayout.
    pub fn disable(&mut self) -> Result<(), Errno> {
        self.set_options(WDIOS_DISABLECARD)
    }

    fn set_options(&mut self, options: i32) -> Result<(), Errno> {
        let fd = self.fd()?;
        let mut v: libc::c_int = options;
        // SAFETY: `fd` is open; `v` is a live int the kernel only reads.
        unsafe { raw::setoptions(fd, &mut v) }?;
        Ok(())
    }

    /// Stop the timer and close: `WDIOS_DISABLECARD`, then the magic `V`
    /// before the close, as systemd's `watchdog_close(true)` does. Either
    /// alone stops a watchdog-core device; the two cover drivers that know
    /// only one. The first failure is returned, after the close.
    pub fn disarm(mut self) -> Result<(), Errno> {
        let disabled = self.disable();
        let written = self.write_magic();
        self.file = None;
        match (disabled, written) {
            // A legacy driver without SETOPTIONS still stops on the magic close.
            (Err(Errno::ENOTTY | Errno::EINVAL), Ok(())) | (Ok(()), Ok(())) => Ok(()),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    fn write_magic(&mut self) -> Result<(), Errno> {
        self.write_byte(b'V')
    }

    /// Write one byte to the device: a ping, and `V` the magic close.
    fn write_byte(&mut self, byte: u8) -> Result<(), Errno> {
        let Some(file) = self.file.as_mut() else {
            return Err(Errno::EBADF);
        };
        loop {
            match file.write(&[byte]) {
                Ok(1) => return Ok(()),
                Ok(_) => return Err(Errno::EIO),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)),
            }
        }
    }

    /// Ping once more and close without the magic character: the timer keeps
    /// running with nobody feeding it. This is the arming for the hand-over;
    /// the new kernel must confirm before the timeout or the machine resets.
    pub fn close_armed(mut self) -> Result<(), Errno> {
        // A write without `V` pings and also clears a `V` written before (by
        // an earlier disarm in this boot, when the timer was already stopped
        // at its close): the kernel would otherwise honour that stale `V` at
        // this close and stop the timer (watchdog_dev.c, `watchdog_write`
        // clears `_WDOG_ALLOW_RELEASE`; the keepalive ioctl does not).
        let pinged = self.keepalive().and_then(|()| self.write_byte(b'\n'));
        // Dropping the file is the close; the kernel's release keeps the
        // timer running because no `V` was written.
        self.file = None;
        pinged
    }
}

/// Why arming or disarming failed; the device is disarmed again (or was
/// never opened) whenever this is returned by [`arm`].
#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("{}: {request}: {errno}", crate::text::path(path))]
    Request { path: PathBuf, request: &'static str, errno: Errno },
    #[error(
        "{} is now \"{}\", not the \"{}\" that was chosen",
        crate::text::path(path),
        crate::text::escape(found),
        crate::text::escape(expected)
    )]
    Identity { path: PathBuf, expected: String, found: String },
}

/// What [`arm`] left running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Armed {
    /// The timeout the driver took (it may round what was asked).
    pub timeout: u32,
    pub identity: String,
}

/// Arm `path` for the hand-over: open it, check that it is still the device
/// that was chosen (numbers can change when the core is reloaded), set the
/// timeout, ping, and close without the magic character. On any failure the
/// device is disarmed again before returning.
pub fn arm(path: &Path, timeout: u32, expected_identity: Option<&str>) -> Result<Armed, ArmError> {
    let request = |request, errno| ArmError::Request { path: path.to_path_buf(), request, errno };
    let mut device = Device::open(path)?;
    let info = device.info().map_err(|e| request("WDIOC_GETSUPPORT", e))?;
    if let Some(expected) = expected_identity {
        if info.identity != expected {
            return Err(ArmError::Identity {
                path: path.to_path_buf(),
                expected: expected.to_string(),
                found: info.identity,
            });
        }
    }
    let taken = device.set_timeout(timeout).map_err(|e| request("WDIOC_SETTIMEOUT", e))?;
    device.close_armed().map_err(|e| request("WDIOC_KEEPALIVE", e))?;
    Ok(Armed { timeout: taken, identity: info.identity })
}

/// Stop the timer of `path`: open it (which restarts a stopped timer for a
/// moment) and [`Device::disarm`] it.
pub fn disarm(path: &Path) -> Result<(), ArmError> {
    Device::open(path)?.disarm().map_err(|errno| ArmError::Request {
        path: path.to_path_buf(),
        request: "disarm",
        errno,
    })
}

impl Drop for Device {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = self.disable();
            let _ = self.write_magic();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request numbers as gcc computes the header's macros on x86_64
    /// and aarch64 (both use include/uapi/asm-generic/ioctl.h).
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn request_numbers_match_the_uapi_header() {
        use nix::{request_code_read, request_code_readwrite};
        assert_eq!(std::mem::size_of::<RawInfo>(), 40);
        assert_eq!(request_code_read!(b'W', 0, std::mem::size_of::<RawInfo>()) as u64, 0x8028_5700);
        assert_eq!(request_code_read!(b'W', 4, std::mem::size_of::<libc::c_int>()) as u64, 0x8004_5704);
        assert_eq!(request_code_read!(b'W', 5, std::mem::size_of::<libc::c_int>()) as u64, 0x8004_5705);
        assert_eq!(request_code_readwrite!(b'W', 6, std::mem::size_of::<libc::c_int>()) as u64, 0xc004_5706);
    }

    #[test]
    fn identity_stops_at_the_first_nul() {
        let mut identity = [0u8; 32];
        identity[..14].copy_from_slice(b"i6300ESB timer");
        identity[20] = b'x';
        let info = Info::from_raw(&RawInfo { options: 0x8180, firmware_version: 0, identity });
        assert_eq!(info.identity, "i6300ESB timer");
        // WDIOF_MAGICCLOSE.
        assert_eq!(info.options & 0x0100, 0x0100);
    }

    #[test]
    fn identity_without_nul_keeps_all_32_bytes() {
        let info = Info::from_raw(&RawInfo { options: 0, firmware_version: 3, identity: [b'a'; 32] });
        assert_eq!(info.identity.len(), 32);
    }

    #[test]
    fn regular_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("watchdog0");
        std::fs::write(&p, b"").unwrap();
        assert!(matches!(Device::open(&p), Err(OpenError::NotCharDevice { .. })));
        // Refused before anything was written to it.
        assert_eq!(std::fs::read(&p).unwrap(), b"");
    }

    #[test]
    fn symlink_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("watchdog0");
        std::os::unix::fs::symlink("/dev/null", &p).unwrap();
        match Device::open(&p) {
            Err(OpenError::Open { source, .. }) => assert_eq!(source.raw_os_error(), Some(libc::ELOOP)),
            other => panic!("a symlink was opened: {other:?}"),
        }
    }

    #[test]
    fn fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("watchdog0");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // With no reader, a blocking open for writing would hang; a
        // non-blocking one fails with ENXIO.
        match Device::open(&p) {
            Err(OpenError::Open { source, .. }) => assert_eq!(source.raw_os_error(), Some(libc::ENXIO)),
            other => panic!("a FIFO was opened: {other:?}"),
        }
    }

    #[test]
    fn missing_device_names_the_path() {
        let err = Device::open(Path::new("/nonexistent/watchdog7")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/watchdog7"), "{err}");
    }

    /// A character device that is not a watchdog answers every request with
    /// ENOTTY, and is closed again without harm.
    #[test]
    fn requests_on_a_non_watchdog_fail_with_enotty() {
        let mut d = Device::open(Path::new("/dev/null")).unwrap();
        assert_eq!(d.info().unwrap_err(), Errno::ENOTTY);
        assert_eq!(d.set_timeout(600).unwrap_err(), Errno::ENOTTY);
        assert_eq!(d.keepalive().unwrap_err(), Errno::ENOTTY);
        // The magic `V` is written (to /dev/null) even though SETOPTIONS fails.
        assert_eq!(d.disarm(), Ok(()));
    }

    #[test]
    fn close_armed_reports_a_failed_ping() {
        let d = Device::open(Path::new("/dev/null")).unwrap();
        assert_eq!(d.close_armed(), Err(Errno::ENOTTY));
    }

    #[test]
    fn arming_a_non_watchdog_fails_at_the_first_request_and_names_it() {
        let err = arm(Path::new("/dev/null"), 600, Some("i6300ESB timer")).unwrap_err();
        match &err {
            ArmError::Request { request, errno, .. } => {
                assert_eq!((*request, *errno), ("WDIOC_GETSUPPORT", Errno::ENOTTY))
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().starts_with("/dev/null: WDIOC_GETSUPPORT"), "{err}");
        assert!(matches!(arm(Path::new("/nonexistent/watchdog0"), 600, None), Err(ArmError::Open(_))));
    }

    #[test]
    fn disarming_a_non_watchdog_still_writes_the_magic_character() {
        // SETOPTIONS is ENOTTY on /dev/null, which a legacy driver may answer
        // too; the `V` then does the stopping.
        assert!(disarm(Path::new("/dev/null")).is_ok());
        assert!(matches!(disarm(Path::new("/nonexistent/watchdog0")), Err(ArmError::Open(_))));
    }

    #[test]
    fn timeout_beyond_int_is_refused_before_the_kernel() {
        let mut d = Device::open(Path::new("/dev/null")).unwrap();
        assert_eq!(d.set_timeout(u32::MAX), Err(Errno::EINVAL));
    }
}
