//! Fuzz the PE header and section table parser (UKIs and EFI stubs), and the
//! in-head section lookup built on it.
#![no_main]

use kexec_chooser::image::pe;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = pe::parse(data) {
        let _ = p.arch();
        for s in &p.sections {
            if let Some(bytes) = pe::section_in_head(data, s) {
                assert_eq!(bytes.len() as u64, s.size);
            }
        }
    }
});
