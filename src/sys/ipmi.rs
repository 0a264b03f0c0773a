//! One IPMI request to the local BMC and its response, through the kernel's
//! IPMI device interface (`/dev/ipmiN`, the `ipmi_devintf` module;
//! include/uapi/linux/ipmi.h, Documentation/driver-api/ipmi.rst): the
//! request goes to the system interface address with `IPMICTL_SEND_COMMAND`,
//! the response is waited for with poll(2) and read with
//! `IPMICTL_RECEIVE_MSG_TRUNC`.
//!
//! Why not a crate: ipmi-rs speaks this interface, but for the three
//! watchdog commands it would bring an RMCP stack (AES, HMAC, MD5, SHA-1,
//! rand) and an older nix; the whole surface here is two ioctls.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

/// `IPMI_SYSTEM_INTERFACE_ADDR_TYPE`, `IPMI_BMC_CHANNEL`, `IPMI_RESPONSE_RECV_TYPE`.
const SYSTEM_INTERFACE_ADDR_TYPE: libc::c_int = 0x0c;
const BMC_CHANNEL: libc::c_short = 0x0f;
const RESPONSE_RECV_TYPE: libc::c_int = 1;
/// The longest IPMI message body (`IPMI_MAX_MSG_LENGTH`).
const MAX_MSG_LENGTH: usize = 272;

/// `struct ipmi_system_interface_addr`.
#[repr(C)]
struct SystemInterfaceAddr {
    addr_type: libc::c_int,
    channel: libc::c_short,
    lun: libc::c_uchar,
}

/// `struct ipmi_msg`.
#[repr(C)]
struct Msg {
    netfn: libc::c_uchar,
    cmd: libc::c_uchar,
    data_len: libc::c_ushort,
    data: *mut libc::c_uchar,
}

/// `struct ipmi_req`.
#[repr(C)]
pub struct Req {
    addr: *mut libc::c_uchar,
    addr_len: libc::c_uint,
    msgid: libc::c_long,
    msg: Msg,
}

/// `struct ipmi_recv`.
#[repr(C)]
pub struct Recv {
    recv_type: libc::c_int,
    addr: *mut libc::c_uchar,
    addr_len: libc::c_uint,
    msgid: libc::c_long,
    msg: Msg,
}

/// The request numbers as include/uapi/linux/ipmi.h builds them
/// (`IPMI_IOC_MAGIC` is `'i'`; SEND is declared `_IOR` though the kernel
/// reads the argument).
mod raw {
    nix::ioctl_read!(send_command, b'i', 13, super::Req);
    nix::ioctl_readwrite!(receive_msg_trunc, b'i', 11, super::Recv);
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpmiError {
    #[error("cannot open {path}: {errno}")]
    Open { path: String, errno: Errno },
    #[error("{path} is not a character device")]
    NotDevice { path: String },
    #[error("{request}: {errno}")]
    Call { request: &'static str, errno: Errno },
    #[error("no response from the BMC within {0:?}")]
    Timeout(Duration),
    #[error("the response does not answer the request (netfn {netfn:#04x}, cmd {cmd:#04x})")]
    Mismatch { netfn: u8, cmd: u8 },
}

/// Send one request (`netfn`, `cmd`, `data`) to the BMC through `device`
/// and return the response's data: its completion code first.
pub fn request(device: &Path, netfn: u8, cmd: u8, data: &[u8], wait: Duration) -> Result<Vec<u8>, IpmiError> {
    let shown = || crate::text::path(device);
    let f: File = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(device)
        .map_err(|e| IpmiError::Open {
            path: shown(),
            errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })?;
    let is_char = f.metadata().map(|m| m.file_type().is_char_device()).unwrap_or(false);
    if !is_char {
        return Err(IpmiError::NotDevice { path: shown() });
    }
    let mut addr = SystemInterfaceAddr { addr_type: SYSTEM_INTERFACE_ADDR_TYPE, channel: BMC_CHANNEL, lun: 0 };
    let mut body = data.to_vec();
    let msgid: libc::c_long = 0x6b63; // "kc": any id; the response carries it back
    let mut req = Req {
        addr: (&mut addr as *mut SystemInterfaceAddr).cast(),
        addr_len: std::mem::size_of::<SystemInterfaceAddr>() as libc::c_uint,
        msgid,
        msg: Msg {
            netfn,
            cmd,
            data_len: libc::c_ushort::try_from(body.len())
                .map_err(|_| IpmiError::Call { request: "IPMICTL_SEND_COMMAND", errno: Errno::EINVAL })?,
            data: body.as_mut_ptr(),
        },
    };
    // SAFETY: `f` is open; `req` and what it points to (`addr`, `body`)
    // live until the call returns, and the kernel copies them in.
    unsafe { raw::send_command(f.as_raw_fd(), &mut req) }
        .map_err(|errno| IpmiError::Call { request: "IPMICTL_SEND_COMMAND", errno })?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = PollTimeout::try_from(left.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::ZERO);
        let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, ms) {
            Ok(0) => return Err(IpmiError::Timeout(wait)),
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(IpmiError::Call { request: "poll", errno }),
        }
        let mut from = SystemInterfaceAddr { addr_type: 0, channel: 0, lun: 0 };
        let mut buf = [0u8; MAX_MSG_LENGTH];
        let mut recv = Recv {
            recv_type: 0,
            addr: (&mut from as *mut SystemInterfaceAddr).cast(),
            addr_len: std::mem::size_of::<SystemInterfaceAddr>() as libc::c_uint,
            msgid: 0,
            msg: Msg { netfn: 0, cmd: 0, data_len: MAX_MSG_LENGTH as libc::c_ushort, data: buf.as_mut_ptr() },
        };
        // SAFETY: `f` is open; `recv.addr` points to `from` and `recv.msg.data`
        // to `buf`, both writable and as large as their lengths say; the
        // kernel truncates a longer message to them.
        unsafe { raw::receive_msg_trunc(f.as_raw_fd(), &mut recv) }
            .map_err(|errno| IpmiError::Call { request: "IPMICTL_RECEIVE_MSG_TRUNC", errno })?;
        // Events and others' messages are not ours: wait on.
        if recv.recv_type != RESPONSE_RECV_TYPE || recv.msgid != msgid {
            continue;
        }
        if recv.msg.netfn != netfn | 1 || recv.msg.cmd != cmd {
            return Err(IpmiError::Mismatch { netfn: recv.msg.netfn, cmd: recv.msg.cmd });
        }
        let len = usize::from(recv.msg.data_len).min(buf.len());
        return Ok(buf.get(..len).unwrap_or(&[]).to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layouts and request numbers x86_64 and aarch64 kernels expect.
    #[test]
    fn structures_and_request_numbers_match_the_kernels() {
        assert_eq!(std::mem::size_of::<SystemInterfaceAddr>(), 8);
        assert_eq!(std::mem::size_of::<Msg>(), 16);
        assert_eq!(std::mem::size_of::<Req>(), 40);
        assert_eq!(std::mem::size_of::<Recv>(), 48);
        use nix::{request_code_read, request_code_readwrite};
        assert_eq!(request_code_read!(b'i', 13, std::mem::size_of::<Req>()) as u64, 0x8028_690d);
        assert_eq!(request_code_readwrite!(b'i', 11, std::mem::size_of::<Recv>()) as u64, 0xc030_690b);
    }

    #[test]
    fn a_missing_or_wrong_device_is_an_error_naming_it() {
        let e = request(Path::new("/nonexistent/ipmi0"), 6, 0x25, &[], Duration::from_secs(1)).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ipmi0"), "{e}");
        let e = request(Path::new("/dev/null"), 6, 0x25, &[], Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, IpmiError::Call { request: "IPMICTL_SEND_COMMAND", errno: Errno::ENOTTY }), "{e}");
    }
}
