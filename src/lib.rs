//! kexec-chooser: find the kernels a machine can warm-reboot into, load one with
//! kexec, and hand over to a clean shutdown; plus a few small administration
//! utilities shipped as subcommands.
//!
//! `unsafe` is confined to [`sys`]; every other module denies it.
#![deny(unsafe_code)]

pub(crate) mod atomic_file;
pub mod boot;
pub mod card;
pub mod cli;
pub mod disk;
pub(crate) mod fnv;
pub mod image;
pub(crate) mod kexec;
pub mod mountinfo;
pub(crate) mod patch;
pub mod paths;
pub mod perf;
pub(crate) mod root;
pub(crate) mod safety;
pub(crate) mod shutdown;
#[allow(unsafe_code)]
pub(crate) mod sys;
#[cfg(test)]
mod testing;
pub(crate) mod text;
pub(crate) mod ui;
pub(crate) mod upload;
pub(crate) mod warm;
