//! Integration tests of `mkpatch`.
