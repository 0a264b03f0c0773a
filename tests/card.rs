//! Integration tests of `card`.
