//! Fuzz the ELF header check (goblin underneath).
#![no_main]

use kexec_chooser::image::elf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = elf::parse(data) {
        assert!(elf::has_magic(data));
        assert!(data.len() >= if h.is_64 { 64 } else { 52 });
    }
});
