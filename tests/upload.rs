//! Integration tests of `upload`.
