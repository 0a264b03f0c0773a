//! The `upload` utility (see its issue).
