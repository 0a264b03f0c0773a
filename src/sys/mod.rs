//! The only module with `unsafe`, raw syscalls and libc: everything that touches
//! the running kernel goes through here.

pub mod interrupt;
