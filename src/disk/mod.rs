//! The `disk` utility: statvfs-based disk-space checks for people, cron,
//! Nagios/Icinga and Prometheus (issue 5).
//!
//! [`mountinfo`] reads the mount table, [`select`] picks the filesystems to
//! check, [`guard`] runs each statvfs under a deadline, [`usage`] turns the
//! answer into df's figures, [`threshold`] judges them, [`report`] prints them.

pub mod guard;
pub mod mountinfo;
pub mod report;
pub mod select;
pub mod threshold;
pub mod usage;
