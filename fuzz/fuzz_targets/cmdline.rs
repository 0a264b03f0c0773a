//! Fuzz the command-line edits and the release ordering: no panic, and the
//! ordering is antisymmetric, as sorting needs.
#![no_main]
use libfuzzer_sys::fuzz_target;

use kexec_chooser::boot::{cmdline, version};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{0}');
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let c = parts.next().unwrap_or_default();
    let edited = cmdline::edit(a, None, &[b.to_owned()], &[c.to_owned()]);
    let _ = cmdline::from_proc(&edited);
    let _ = cmdline::from_etc(a);
    // Rescue is a property of the words: the same after a no-op edit.
    assert_eq!(cmdline::asks_for_rescue(a), cmdline::asks_for_rescue(&cmdline::edit(a, None, &[], &[])));
    assert_eq!(version::compare(a, b), version::compare(b, a).reverse());
});
