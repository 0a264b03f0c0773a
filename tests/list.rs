//! Integration tests of `list`.
