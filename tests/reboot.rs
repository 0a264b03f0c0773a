//! Integration tests of `reboot`.
