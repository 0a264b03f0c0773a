//! Integration tests of `card`: the binary on stdin and arguments, held to
//! the issue's contract. Expectations are written out by hand from the issue
//! (and the documented Maestro/Discover choices), never read from the table
//! under test, and every number is built with an independent Luhn.

use std::process::Output;

use serde_json::Value;

use crate::common::{run, run_with_stdin, stderr, stdout};

/// The textbook Luhn, independent of the crate's.
fn luhn_ok(digits: &str) -> bool {
    let mut total = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let mut d = c.to_digit(10).expect("digit");
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        total += d;
    }
    total % 10 == 0
}

/// A fixed pseudo-random digit source (splitmix64), so runs are reproducible.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn digit(&mut self) -> char {
        char::from(b'0' + (self.next() % 10) as u8)
    }
}

/// A `len`-digit number starting with `prefix` whose last digit makes Luhn pass.
fn valid_number(prefix: &str, len: usize, rng: &mut Seeded) -> String {
    assert!(prefix.len() < len, "{prefix} too long for {len}");
    let mut s: String = prefix.to_owned();
    while s.len() < len - 1 {
        s.push(rng.digit());
    }
    let check = (0..10u8).map(|d| char::from(b'0' + d)).find(|&c| luhn_ok(&format!("{s}{c}")));
    s.push(check.expect("some check digit works"));
    s
}

/// The same number with its last digit changed, so Luhn fails.
fn with_bad_check_digit(number: &str) -> String {
    let (body, last) = number.split_at(number.len() - 1);
    let d = last.parse::<u8>().unwrap();
    format!("{body}{}", (d + 1) % 10)
}

/// Run `card --json` on `numbers` (one per line) and parse every output line.
fn check_json(numbers: &[String]) -> (Output, Vec<Value>) {
    let input = numbers.join("\n") + "\n";
    let out = run_with_stdin(&["card", "--json"], input.as_bytes());
    let records = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (out, records)
}

/// Run `card --json --reveal`, so each record can be matched to its number.
fn check_revealed(numbers: &[String]) -> Vec<Value> {
    let input = numbers.join("\n") + "\n";
    let out = run_with_stdin(&["card", "--json", "--reveal"], input.as_bytes());
    assert!(stderr(&out).is_empty(), "stderr: {}", stderr(&out));
    let records: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), numbers.len());
    for (r, n) in records.iter().zip(numbers) {
        assert_eq!(r["number"], n.as_str());
    }
    records
}

#[test]
fn the_original_examples_keep_their_verdicts() {
    let out = run_with_stdin(&["card"], b"4111-1111-1111-1111\n4111 1111 1111 1112\n5105105105105100\n");
    assert_eq!(
        stdout(&out),
        "411111******1111\tVisa\tvalid\n\
         411111******1112\tVisa\tinvalid: checksum\n\
         510510******5100\tMastercard\tvalid\n"
    );
    assert_eq!(out.status.code(), Some(1), "one invalid number means exit 1");
    assert!(stderr(&out).is_empty(), "stdin gives no warning: {}", stderr(&out));
}

/// Test numbers the networks' acquirers publish for sandboxes (Stripe's
/// "Testing" page, Braintree/PayPal's sandbox list), with the network they
/// are published under.
const PUBLISHED: &[(&str, &str)] = &[
    ("4242424242424242", "Visa"),
    ("4000056655665556", "Visa"),
    ("4111111111111111", "Visa"),
    ("4012888888881881", "Visa"),
    ("4222222222222", "Visa"),
    ("5555555555554444", "Mastercard"),
    ("2223003122003222", "Mastercard"),
    ("5200828282828210", "Mastercard"),
    ("5105105105105100", "Mastercard"),
    ("378282246310005", "American Express"),
    ("371449635398431", "American Express"),
    ("378734493671000", "American Express"),
    ("6011111111111117", "Discover"),
    ("6011000990139424", "Discover"),
    ("6011981111111113", "Discover"),
    ("3056930009020004", "Diners Club"),
    ("36227206271667", "Diners Club"),
    ("30569309025904", "Diners Club"),
    ("38520000023237", "Diners Club"),
    ("3566002020360505", "JCB"),
    ("3530111333300000", "JCB"),
    ("6200000000000005", "UnionPay"),
    ("6200000000000047", "UnionPay"),
    ("6205500000000000004", "UnionPay"),
    ("6304000000000000", "Maestro"),
];

#[test]
fn published_test_numbers_are_valid_under_their_network() {
    let numbers: Vec<String> = PUBLISHED.iter().map(|(n, _)| n.to_string()).collect();
    let records = check_revealed(&numbers);
    for (r, (n, network)) in records.iter().zip(PUBLISHED) {
        assert_eq!(r["network"], *network, "{n}");
        assert_eq!(r["valid"], true, "{n}: {}", r["reason"]);
        assert_eq!(r["reason"], Value::Null, "{n}");
    }
}

/// Every edge of every prefix range, and the six-digit prefix just outside
/// it, with the network the issue's table gives (None: unknown). Six digits
/// so that the filler after them can never reach another range.
const PREFIX_EDGES: &[(&str, Option<&str>)] = &[
    // Visa 4
    ("399999", Some("Diners Club")),
    ("400000", Some("Visa")),
    ("499999", Some("Visa")),
    ("500000", None),
    // Mastercard 51-55
    ("509999", None),
    ("510000", Some("Mastercard")),
    ("559999", Some("Mastercard")),
    ("560000", None),
    // Mastercard 2221-2720
    ("222099", None),
    ("222100", Some("Mastercard")),
    ("272099", Some("Mastercard")),
    ("272100", None),
    // American Express 34, 37
    ("339999", None),
    ("340000", Some("American Express")),
    ("349999", Some("American Express")),
    ("350000", None),
    ("369999", Some("Diners Club")),
    ("370000", Some("American Express")),
    ("379999", Some("American Express")),
    ("380000", Some("Diners Club")),
    // Discover 6011, 644-649, 65, 622126-622925
    ("601099", None),
    ("601100", Some("Discover")),
    ("601199", Some("Discover")),
    ("601200", None),
    ("643999", None),
    ("644000", Some("Discover")),
    ("649999", Some("Discover")),
    ("650000", Some("Discover")),
    ("659999", Some("Discover")),
    ("660000", None),
    ("622125", Some("UnionPay")),
    ("622126", Some("Discover")),
    ("622925", Some("Discover")),
    ("622926", Some("UnionPay")),
    // Diners Club 300-305, 36, 38-39
    ("299999", None),
    ("300000", Some("Diners Club")),
    ("305999", Some("Diners Club")),
    ("306000", None),
    ("359999", None),
    ("360000", Some("Diners Club")),
    ("399999", Some("Diners Club")),
    // JCB 3528-3589
    ("352799", None),
    ("352800", Some("JCB")),
    ("358999", Some("JCB")),
    ("359000", None),
    // UnionPay 62
    ("619999", None),
    ("620000", Some("UnionPay")),
    ("629999", Some("UnionPay")),
    ("630000", None),
    // Maestro 5018, 5020, 5038, 5893, 6304, 6759, 6761-6763, 676770, 676774
    ("501799", None),
    ("501800", Some("Maestro")),
    ("501899", Some("Maestro")),
    ("501900", None),
    ("501999", None),
    ("502000", Some("Maestro")),
    ("502099", Some("Maestro")),
    ("502100", None),
    ("503799", None),
    ("503800", Some("Maestro")),
    ("503899", Some("Maestro")),
    ("503900", None),
    ("589299", None),
    ("589300", Some("Maestro")),
    ("589399", Some("Maestro")),
    ("589400", None),
    ("630399", None),
    ("630400", Some("Maestro")),
    ("630499", Some("Maestro")),
    ("630500", None),
    ("675899", None),
    ("675900", Some("Maestro")),
    ("675999", Some("Maestro")),
    ("676000", None),
    ("676099", None),
    ("676100", Some("Maestro")),
    ("676399", Some("Maestro")),
    ("676400", None),
    ("676769", None),
    ("676770", Some("Maestro")),
    ("676771", None),
    ("676773", None),
    ("676774", Some("Maestro")),
    ("676775", None),
    // Mir 2200-2204
    ("219999", None),
    ("220000", Some("Mir")),
    ("220499", Some("Mir")),
    ("220500", None),
];

/// The lengths the issue allows each network (Maestro: 12-19, docs/card.md).
fn allowed_lengths(network: &str) -> Vec<usize> {
    match network {
        "Visa" => vec![13, 16, 19],
        "Mastercard" => vec![16],
        "American Express" => vec![15],
        "Discover" => vec![16, 19],
        "Diners Club" => vec![14, 16, 19],
        "JCB" | "UnionPay" | "Mir" => (16..=19).collect(),
        "Maestro" => (12..=19).collect(),
        other => panic!("no such network {other}"),
    }
}

#[test]
fn every_prefix_edge_and_the_prefix_just_outside_it_get_the_issues_network() {
    let mut rng = Seeded(0x0009_ed9e);
    let mut numbers = Vec::new();
    let mut expected = Vec::new();
    for (prefix, network) in PREFIX_EDGES {
        let lengths = network.map_or(vec![16], allowed_lengths);
        for len in lengths {
            numbers.push(valid_number(prefix, len, &mut rng));
            expected.push((*prefix, *network));
        }
    }
    let records = check_revealed(&numbers);
    for (r, (prefix, network)) in records.iter().zip(&expected) {
        let n = r["number"].as_str().unwrap();
        match network {
            Some(name) => {
                assert_eq!(r["network"], *name, "{n} (edge {prefix})");
                assert_eq!(r["valid"], true, "{n} (edge {prefix}): {}", r["reason"]);
            }
            None => {
                assert_eq!(r["network"], Value::Null, "{n} (edge {prefix})");
                assert_eq!(r["valid"], false, "{n}");
                assert_eq!(r["reason"], "unknown prefix", "{n}");
            }
        }
    }
}

#[test]
fn every_length_edge_of_every_network_is_allowed_or_named_in_the_reason() {
    let cases = [
        ("411111", "Visa"),
        ("510000", "Mastercard"),
        ("272099", "Mastercard"),
        ("340000", "American Express"),
        ("601100", "Discover"),
        ("622126", "Discover"),
        ("300000", "Diners Club"),
        ("352800", "JCB"),
        ("620000", "UnionPay"),
        ("675900", "Maestro"),
        ("501800", "Maestro"),
        ("220000", "Mir"),
    ];
    let mut rng = Seeded(0x0000_91e9);
    let mut numbers = Vec::new();
    let mut expected = Vec::new();
    for (prefix, network) in cases {
        for len in 7..=21 {
            numbers.push(valid_number(prefix, len, &mut rng));
            expected.push((network, len, allowed_lengths(network).contains(&len)));
        }
    }
    let records = check_revealed(&numbers);
    for (r, (network, len, allowed)) in records.iter().zip(&expected) {
        let n = r["number"].as_str().unwrap();
        assert_eq!(r["network"], *network, "{n}");
        if *allowed {
            assert_eq!(r["valid"], true, "{n}: {}", r["reason"]);
        } else {
            assert_eq!(r["valid"], false, "{n}");
            assert_eq!(r["reason"], format!("length {len} not allowed for {network}"), "{n}");
        }
    }
}

#[test]
fn a_failed_checksum_is_reported_with_the_network_for_every_network_unionpay_included() {
    let numbers: Vec<String> = PUBLISHED.iter().map(|(n, _)| with_bad_check_digit(n)).collect();
    let records = check_revealed(&numbers);
    for (r, (n, network)) in records.iter().zip(PUBLISHED) {
        assert_eq!(r["network"], *network, "{n}");
        assert_eq!(r["valid"], false, "{n}");
        assert_eq!(r["reason"], "checksum", "{n}");
    }
}

#[test]
fn the_length_reason_reads_as_in_the_issue() {
    let out = run_with_stdin(&["card"], b"4111 1111 1111 111\n");
    assert_eq!(stdout(&out), "411111*****1111\tVisa\tinvalid: length 15 not allowed for Visa\n");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn masked_output_never_shows_more_than_ten_digits_nor_the_number() {
    let mut rng = Seeded(0x0009_3a5c);
    let numbers: Vec<String> = (0..3000)
        .map(|i| {
            let len = 1 + i % 40;
            (0..len).map(|_| rng.digit()).collect()
        })
        .collect();
    for json in [false, true] {
        let args: &[&str] = if json { &["card", "--json"] } else { &["card"] };
        let out = run_with_stdin(args, (numbers.join("\n") + "\n").as_bytes());
        assert_eq!(out.status.code(), Some(1), "random numbers include invalid ones");
        let text = stdout(&out);
        let masks: Vec<String> = if json {
            text.lines()
                .map(|l| {
                    let v: Value = serde_json::from_str(l).unwrap();
                    v["number"].as_str().unwrap().to_owned()
                })
                .collect()
        } else {
            text.lines().map(|l| l.split('\t').next().unwrap().to_owned()).collect()
        };
        assert_eq!(masks.len(), numbers.len());
        for (mask, number) in masks.iter().zip(&numbers) {
            let shown = mask.chars().filter(char::is_ascii_digit).count();
            assert_eq!(mask.len(), number.len(), "the mask keeps the length");
            assert!(shown <= 10, "{mask} shows {shown} digits");
            if number.len() < 13 {
                assert!(shown * 2 <= number.len(), "{mask} shows more than half");
            }
            if number.len() >= 11 {
                assert!(!text.contains(number.as_str()), "a full number was printed");
            }
        }
        assert!(stderr(&out).is_empty());
    }
}

#[test]
fn reveal_prints_the_full_number_and_only_when_asked() {
    let out = run_with_stdin(&["card", "--reveal"], b"4111-1111-1111-1111\n");
    assert_eq!(stdout(&out), "4111111111111111\tVisa\tvalid\n");
    assert_eq!(out.status.code(), Some(0));
    let out = run_with_stdin(&["card"], b"4111-1111-1111-1111\n");
    assert!(!stdout(&out).contains("4111111111111111"));
}

#[test]
fn json_records_parse_back_with_every_field() {
    let numbers = vec![
        "4111 1111 1111 1111".to_owned(),
        "".to_owned(),
        "9999 9999 9999 9995".to_owned(),
        "378282246310005".to_owned(),
    ];
    let (out, records) = check_json(&numbers);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(records.len(), 3, "the blank line is skipped");
    assert_eq!(records[0]["line"], 1);
    assert_eq!(records[0]["number"], "411111******1111");
    assert_eq!(records[0]["network"], "Visa");
    assert_eq!(records[0]["valid"], true);
    assert_eq!(records[0]["reason"], Value::Null);
    assert_eq!(records[1]["line"], 3, "line numbers count the skipped blank line");
    assert_eq!(records[1]["network"], Value::Null);
    assert_eq!(records[1]["valid"], false);
    assert_eq!(records[1]["reason"], "unknown prefix");
    assert_eq!(records[2]["line"], 4);
    assert_eq!(records[2]["number"], "378282*****0005");
    assert_eq!(records[2]["network"], "American Express");
    for r in &records {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 5, "{keys:?}");
    }
}

#[test]
fn a_bad_character_names_line_and_position_but_not_the_number() {
    let out = run_with_stdin(&["card"], b"4111111111111111\n4111111111111111x\n41 11?\n");
    assert_eq!(out.status.code(), Some(2), "unusable input means exit 2");
    assert_eq!(stdout(&out), "411111******1111\tVisa\tvalid\n", "good lines are still checked");
    let err = stderr(&out);
    assert!(err.contains("line 2: character 'x' at position 17"), "{err}");
    assert!(err.contains("line 3: character '?' at position 6"), "{err}");
    assert!(!err.contains("411111"), "the number leaked: {err}");
}

#[test]
fn a_non_ascii_digit_is_reported_without_showing_it() {
    let out = run_with_stdin(&["card"], "4111١111\n".as_bytes());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("line 1: a non-ASCII digit at position 5"), "{err}");
    assert!(!err.contains('١') && !err.contains("4111"), "{err}");
}

#[test]
fn an_overlong_line_is_unusable_and_not_echoed() {
    let mut input = vec![b'4'; 10_000];
    input.extend_from_slice(b"\n5105105105105100\n");
    let out = run_with_stdin(&["card"], &input);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 1: longer than 256 bytes"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("4444"));
    assert_eq!(stdout(&out), "510510******5100\tMastercard\tvalid\n");
}

#[test]
fn exit_codes_follow_the_contract() {
    let code = |input: &[u8]| run_with_stdin(&["card"], input).status.code();
    assert_eq!(code(b"4111111111111111\n5105105105105100\n"), Some(0), "all valid");
    assert_eq!(code(b"4111111111111111\r\n\n  \n"), Some(0), "CRLF and blank lines");
    assert_eq!(code(b"4111111111111111\n4111111111111112\n"), Some(1), "one invalid");
    assert_eq!(code(b"4111111111111112\n4111-x\n"), Some(2), "unusable beats invalid");
    assert_eq!(code(b""), Some(2), "no numbers at all is unusable");
    assert_eq!(code(b"\n\n"), Some(2), "only blank lines is unusable");
    assert_eq!(code(b"--\n"), Some(2), "separators without digits");
    assert_eq!(run(&["card", "--no-such-flag"]).status.code(), Some(2), "bad usage");
}

#[test]
fn arguments_work_but_warn_that_they_are_visible() {
    let out = run(&["card", "4111-1111-1111-1111", "5105105105105100"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "411111******1111\tVisa\tvalid\n510510******5100\tMastercard\tvalid\n");
    let err = stderr(&out);
    assert!(err.contains("visible to other users"), "{err}");
    assert!(!err.contains("4111"), "{err}");

    let out = run(&["card", "--json", "4111 1111 1111 1112", "4111x"]);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_str(stdout(&out).trim_end()).unwrap();
    assert_eq!(v["line"], 1);
    assert_eq!(v["reason"], "checksum");
    assert!(stderr(&out).contains("argument 2: character 'x' at position 5"));
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(crate::common::bin())
        .args(["card"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before anything is written
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let line = b"4111111111111111\n".repeat(200_000);
        let _ = stdin.write_all(&line);
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
}

#[test]
fn the_documented_table_is_the_table_in_the_code() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/card.md")).expect("docs/card.md");
    for network in kexec_chooser::card::networks::NETWORKS {
        let row = kexec_chooser::card::networks::doc_row(network);
        assert!(doc.contains(&row), "docs/card.md lacks or differs from: {row}");
    }
}

#[test]
fn a_number_given_to_a_flag_is_not_echoed_by_the_usage_error() {
    for args in [
        &["card", "--json=4111111111111111"][..],
        &["card", "--reveal=4111-1111-1111-1111"],
        &["card", "--bogus", "4111111111111111"],
        &["card", "--json=5500 0000 0000 0004"],
    ] {
        let o = crate::common::run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        for full in ["4111111111111111", "4111-1111-1111-1111", "5500 0000 0000 0004"] {
            assert!(!err.contains(full), "{args:?}: {err}");
        }
    }
}

/// Every digit of `text`, of any script, in order: what a reader could
/// piece a number together from.
fn digits_shown(text: &str) -> usize {
    text.chars().filter(|c| c.is_numeric()).count()
}

#[test]
fn a_number_written_with_any_separator_or_digit_script_is_masked_in_usage_errors() {
    let fullwidth: String =
        "4111111111111111".chars().map(|c| char::from_u32(u32::from(c) + 0xFF10 - 0x30).unwrap()).collect();
    let arabic: String =
        "4111111111111111".chars().map(|c| char::from_u32(u32::from(c) + 0x0660 - 0x30).unwrap()).collect();
    for written in [
        "4111.1111.1111.1111",
        "4111_1111_1111_1111",
        "4111/1111/1111/1111",
        "4111 . 1111 . 1111 . 1111",
        "4111\t1111\t1111\t1111",
        &fullwidth,
        &arabic,
    ] {
        let o = run(&["card", &format!("--json={written}")]);
        assert_eq!(o.status.code(), Some(2), "{written:?}");
        let err = stderr(&o);
        assert!(err.contains("unexpected value"), "the parser's error is still there: {err}");
        assert!(!err.contains(written), "{written:?} leaked: {err}");
        // The mask of a 16-digit number shows 10 digits; nothing else in
        // the message is a digit.
        assert_eq!(digits_shown(&err), 10, "{written:?}: {err}");
        assert!(err.contains("******"), "{written:?} is masked as numbers are: {err}");
    }
}

#[test]
fn control_characters_in_a_usage_error_are_escaped() {
    // clap drops whole ESC sequences itself, but not a lone CR (which
    // rewrites the line on a terminal) or a C1 control.
    let o = run(&["card", "--json=\rcard: all valid\u{9b}2J"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(!err.contains('\r') && !err.contains('\u{9b}'), "{err:?}");
    assert!(err.contains("'\\015card: all valid\\302\\2332J'"), "{err}");
}
