//! Fuzz `image::identify_file`, what discovery runs on every kernel and UKI
//! it opens: the head, then a UKI's text sections and the head of its
//! `.linux` wherever the section table says they lie, then the length
//! check. Any bytes, as a file: no panic, and a read never goes past a limit.
#![no_main]
use std::io::Write;

use libfuzzer_sys::fuzz_target;

use kexec_chooser::image::{identify_file, Format};

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::tempfile().expect("a temporary file");
    f.write_all(data).expect("write the input");
    if let Ok(id) = identify_file(&f, std::path::Path::new("fuzz.efi")) {
        if let Some(need) = id.min_file_len {
            assert!(need <= data.len() as u64, "a file shorter than its headers say is Truncated");
        }
        if id.format == Some(Format::Uki) {
            assert!(id.sections.iter().any(|s| s.name == ".linux"));
        }
    }
});
