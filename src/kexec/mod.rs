//! The kexec step: the plan of what will be loaded, preflight checks, load,
//! unload and status.

pub mod arm64;
pub mod load;
pub mod note;
pub mod plan;
pub mod preflight;
pub mod state;
pub mod status;
pub mod syscall;

pub use load::Prepared;
pub use plan::Plan;
pub use state::KexecState;
