//! The `perf` utility (see its issue).
