//! The `disk` utility: statvfs-based disk-space checks for people, cron,
//! Nagios/Icinga and Prometheus.
//!
//! [`run`] is the whole check: [`crate::mountinfo`] reads the mount table, [`select`]
//! picks the filesystems, [`guard`] runs each lookup and statvfs under a
//! deadline, [`usage`] turns the answers into df's figures, [`threshold`]
//! judges them. [`report`] renders the rows in each output format.

pub(crate) mod check;
pub(crate) mod guard;
pub(crate) mod report;
pub mod select;
pub(crate) mod threshold;
pub(crate) mod usage;

pub use check::{mount_table, run, run_with, DiskError, Job, Kernel, Probe, Report};
