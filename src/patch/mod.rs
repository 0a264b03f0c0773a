//! The `patch` utility (see its issue).
