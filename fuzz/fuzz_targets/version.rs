//! Fuzz both release orders (linux-version's, and the UAPI one systemd-boot
//! sorts its entries by): no panic, and each is a total order, as the
//! standard library's sort needs (it may panic on an inconsistent one).
#![no_main]
use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;

use kexec_chooser::boot::version;

fn check(cmp: fn(&str, &str) -> Ordering, a: &str, b: &str, c: &str) {
    assert_eq!(cmp(a, a), Ordering::Equal, "{a:?}");
    assert_eq!(cmp(a, b), cmp(b, a).reverse(), "{a:?} {b:?}");
    // Transitive: a <= b and b <= c give a <= c.
    if cmp(a, b) != Ordering::Greater && cmp(b, c) != Ordering::Greater {
        assert_ne!(cmp(a, c), Ordering::Greater, "{a:?} {b:?} {c:?}");
    }
    if cmp(a, b) == Ordering::Equal && cmp(b, c) == Ordering::Equal {
        assert_eq!(cmp(a, c), Ordering::Equal, "{a:?} {b:?} {c:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{0}');
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let c = parts.next().unwrap_or_default();
    check(version::compare, a, b, c);
    check(version::uapi_compare, a, b, c);
});
