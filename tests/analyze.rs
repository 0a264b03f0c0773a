//! Integration tests of `analyze`.
