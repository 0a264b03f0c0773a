//! kexec-chooser: find the kernels a machine can warm-reboot into, load one with
//! kexec, and hand over to a clean shutdown; plus a few small administration
//! utilities shipped as subcommands.
//!
//! `unsafe` is confined to [`sys`]; every other module denies it.
#![deny(unsafe_code)]

pub mod atomic_file;
pub mod boot;
pub mod card;
pub mod cli;
pub mod disk;
pub mod fnv;
pub mod image;
pub mod kexec;
pub mod mountinfo;
pub mod patch;
pub mod paths;
pub mod perf;
pub mod root;
pub mod safety;
pub mod shutdown;
#[allow(unsafe_code)]
pub mod sys;
#[cfg(test)]
mod testing;
pub mod text;
pub mod ui;
pub mod upload;
pub mod warm;
