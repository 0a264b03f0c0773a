//! kexec-chooser: find the kernels a machine can warm-reboot into, load one with
//! kexec, and hand over to a clean shutdown; plus a few small administration
//! utilities shipped as subcommands.
//!
//! One home per concern:
//!
//! | module | what it is the home of |
//! |---|---|
//! | `main.rs`, `cli` | parsing arguments, calling the library, printing; exit codes |
//! | `warm` | the warm reboot's order of steps: consent, preflight, confirmation, load, net, hand-over |
//! | `boot` | discovery of boot entries: names in /boot, BLS, UKIs, GRUB's menu, versions, the command line |
//! | `image` | panic-free parsers of kernel images over bytes (fuzzed) |
//! | `kexec` | the plan, preflight, load and unload, the running kernel's state, `status`, `load`'s note |
//! | `safety` | the safety net: its protocol (`safety::net`), the hardware watchdogs, the record, `confirm` |
//! | `shutdown` | the hand-over: through systemd, or kexec-chooser's own clean shutdown |
//! | `root`, `paths` | every path of the running system, and the one confined way to read and write under `--root` |
//! | `atomic_file` | files written whole or not at all |
//! | `mountinfo` | the one reader of the mount table |
//! | `text` | text for people: escaping, the message prefix |
//! | `ui` | menu, prompts, terminal detection |
//! | `sys` | every syscall and `unsafe` block, behind the `System` trait and its recording fake |
//! | `disk`, `perf`, `patch`, `upload`, `card` | one utility each |
//!
//! `unsafe` is confined to `sys`; every other module denies it.
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
