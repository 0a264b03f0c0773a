//! Fuzz `image::identify`, the entry point discovery calls on every file's
//! head: it must never panic, and what it accepts must be self-consistent.
#![no_main]

use kexec_chooser::image::{identify, Format, HEAD_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let head = &data[..data.len().min(HEAD_LEN)];
    if let Ok(id) = identify(head) {
        let format = id.format.expect("an identified image has a format");
        assert_ne!(format, Format::Unknown);
        if format == Format::Bzimage {
            let setup = id.setup.as_ref().expect("a bzImage has a setup header");
            assert_eq!(id.cmdline_size, Some(setup.cmdline_size));
            assert_eq!(id.version.as_deref(), setup.release());
        }
        if format == Format::Uki {
            assert!(id.sections.iter().any(|s| s.name == ".linux"));
        }
    }
});
