//! The kexec step: the plan of what will be loaded, preflight checks, load,
//! unload and status.

pub mod plan;

pub use plan::Plan;
