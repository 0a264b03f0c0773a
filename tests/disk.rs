//! Integration tests of `disk`.
