//! Fuzz the arm64 Image header parser and its flag accessors.
#![no_main]

use kexec_chooser::image::arm64;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = arm64::parse(data) {
        assert!(arm64::has_magic(data));
        let _ = (h.page_size(), h.big_endian(), h.place_anywhere(), h.effective_text_offset());
    }
});
