//! Card numbers kept out of messages the program did not write itself (the
//! argument parser's, which quote the offending word): DESIGN.md's "never
//! print a full card number unless the person asks for it".

use super::Masked;

/// `text` with every run of six or more digits — spaces and dashes between
/// them allowed, as in a card number — masked as the output masks numbers:
/// an error never shows a full number.
pub fn numbers(text: &str) -> String {
    /// Runs shorter than this are versions, counts and positions, not numbers.
    const MIN_DIGITS: usize = 6;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        // The run: digits, with single separators between two digits.
        let bytes = from.as_bytes();
        let mut end = 0;
        let mut digits = String::new();
        while let Some(&b) = bytes.get(end) {
            if b.is_ascii_digit() {
                digits.push(char::from(b));
                end += 1;
            } else if matches!(b, b' ' | b'-') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
                end += 1;
            } else {
                break;
            }
        }
        let (run, after) = from.split_at(end);
        if digits.len() >= MIN_DIGITS {
            out.push_str(&Masked(&digits).to_string());
        } else {
            out.push_str(run);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_messages_never_show_a_full_number() {
        let e = "error: unexpected value '4111111111111111' for '--json' found";
        assert_eq!(numbers(e), "error: unexpected value '411111******1111' for '--json' found");
        let r = numbers("a 4111 1111-1111 1111 b");
        assert!(!r.contains("4111 1111-1111 1111") && r.contains("411111******1111"), "{r}");
        // Short runs (versions, counts, positions) stay as they are.
        assert_eq!(numbers("--timeout 10, 6.1.0-13"), "--timeout 10, 6.1.0-13");
    }
}
