//! Fuzz the Boot Loader Specification entry parser: any bytes from
//! `loader/entries/*.conf` must parse without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let e = kexec_chooser::boot::bls::parse(&text);
    // Every initrd is a word of some `initrd` line.
    assert!(e.initrds.iter().all(|i| !i.is_empty() && !i.contains(char::is_whitespace)));
    // What discovery asks of an entry's options: any text, no panic.
    let _ = e.options.as_deref().map(kexec_chooser::boot::cmdline::asks_for_rescue);
});
