//! The `card` utility (see its issue).
