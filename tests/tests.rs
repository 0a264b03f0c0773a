//! The one integration-test binary: the CLI run on fixture roots and on the
//! real tools each subcommand works with. Each area has its own module.

mod common;

mod analyze;
mod arm64;
mod card;
mod confirm;
mod disk;
mod kexec;
mod list;
mod menu;
mod mkpatch;
mod package;
mod reboot;
mod upload;
