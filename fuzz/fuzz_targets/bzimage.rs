//! Fuzz the x86 setup header parser: no panic, and a version string it
//! returns always came from inside the setup sectors.
#![no_main]

use kexec_chooser::image::bzimage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = bzimage::parse(data) {
        assert!(bzimage::has_setup_header(data));
        if let Some(v) = &h.kernel_version {
            assert!(v.len() < h.setup_len());
            assert!(!v.contains('\0'));
        }
        let _ = h.kexec_file_load_problem();
    }
});
