//! The `disk` utility (see its issue).
