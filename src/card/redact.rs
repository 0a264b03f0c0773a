//! Card numbers kept out of messages the program did not write itself (the
//! argument parser's, which quote the offending word): DESIGN.md's "never
//! print a full card number unless the person asks for it".

use super::mask;

/// Runs of fewer digits are versions, counts and positions, not numbers.
const MIN_DIGITS: usize = 6;

/// The most characters between two digits that still join them into one
/// number: `4111 - 1111`, `4111.1111`, `4111\t1111`.
const MAX_GAP: usize = 3;

/// `text` made safe to print: every run of six or more digits is masked as
/// the output masks numbers, and control characters are escaped
/// ([`crate::text::escape`], line by line, so the message keeps its lines).
///
/// A run is digits of any script (`4`, `٤`, `４`), with gaps of at most
/// three characters that are neither letters nor digits between them
/// (spaces, dashes, dots, underscores, slashes, tabs...): however a number
/// is written, the message shows no more of it than the mask does.
pub fn numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if !c.is_numeric() {
            out.push(c);
            i += 1;
            continue;
        }
        let end = run_end(&chars, i);
        let run = chars.get(i..end).unwrap_or_default();
        let digits: Vec<char> = run.iter().copied().filter(|c| c.is_numeric()).collect();
        if digits.len() >= MIN_DIGITS {
            push_masked(&digits, &mut out);
        } else {
            out.extend(run);
        }
        i = end;
    }
    out.split('\n').map(crate::text::escape).collect::<Vec<_>>().join("\n")
}

/// Where the run of digits starting at `start` ends: after its last digit.
fn run_end(chars: &[char], start: usize) -> usize {
    let mut end = start;
    let mut at = start;
    loop {
        let gap = chars.get(at..).unwrap_or_default().iter().take_while(|c| !c.is_alphanumeric()).count();
        let next = at.saturating_add(gap);
        match chars.get(next) {
            Some(c) if c.is_numeric() && gap <= MAX_GAP => {
                at = next.saturating_add(1);
                end = at;
            }
            _ => return end,
        }
    }
}

/// The mask of `digits` in their own script: the digits [`mask::visible`]
/// allows at each end, a `*` for each hidden one.
fn push_masked(digits: &[char], out: &mut String) {
    let n = digits.len();
    let (first, last) = mask::visible(n);
    out.extend(digits.iter().take(first));
    out.extend(std::iter::repeat('*').take(n.saturating_sub(first.saturating_add(last))));
    out.extend(digits.iter().skip(n.saturating_sub(last)));
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
        // Short runs (versions, counts, positions) stay as they are when a
        // word stands between them.
        let text = "position 17 of line 3, version 6.1.0-13";
        assert_eq!(numbers(text), text);
    }

    #[test]
    fn any_separator_and_any_digit_script_is_still_one_number() {
        for written in ["4111.1111.1111.1111", "4111_1111/1111 - 1111", "4111\t1111\u{a0}1111\u{2009}1111"] {
            assert_eq!(numbers(&format!("'{written}'")), "'411111******1111'", "{written:?}");
        }
        for (written, masked) in [
            ("٤١١١١١١١١١١١١١١١", "٤١١١١١******١١١١"),
            ("４１１１-１１１１-１１１１-１１１１", "４１１１１１******１１１１"),
        ] {
            assert_eq!(numbers(written), masked);
        }
        // Four characters apart, or a letter between: two short runs, kept.
        for apart in ["123 ... 456", "123x456"] {
            assert_eq!(numbers(apart), apart);
        }
    }

    #[test]
    fn control_characters_are_escaped_and_lines_kept() {
        assert_eq!(numbers("a\x1b[2J\nb\u{9b}c\n"), "a\\033[2J\nb\\302\\233c\n");
    }
}
