//! Fuzz the compressed-stream magic detection and the EFI zboot header parser.
#![no_main]

use kexec_chooser::image::compressed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = compressed::detect(data);
    if let Ok(z) = compressed::parse_zboot(data) {
        assert!(compressed::is_zboot(data));
        assert!(!z.compression_type.is_empty());
        assert!(z.payload_offset.checked_add(z.payload_size).is_some());
    }
});
