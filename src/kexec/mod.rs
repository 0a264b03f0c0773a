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

pub use load::{LoadError, Prepared};
pub use plan::{Mode, ModeChoice, Plan};
pub use preflight::{Allow, PreflightError};
pub use state::KexecState;
