//! Integration tests of `analyze`: synthetic series with a known truth, made
//! here with a seeded generator, run through the binary; the text line of
//! the seed, the JSON classes, the charts and the exit codes.

use serde_json::Value;

use crate::common;

/// xorshift64* with Box-Muller: deterministic noise without a crate.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// A fixed pattern of spread 0.8 whose every 20-point window looks alike.
fn wobble(i: usize) -> f64 {
    [0.0, 0.3, -0.2, 0.1, -0.4, 0.2, -0.1, 0.4, -0.3, 0.05][i % 10]
}

const T0: i64 = 1_231_761_600; // 2009-01-12T12:00:00Z
const HEADER: &str = "test,branch,platform,machine,buildid,value,timestamp\n";

/// CSV of one Tp3 series: point i is from machine `i % machines`, an hour apart.
fn csv(values: &[f64], machines: usize) -> String {
    let mut s = String::from(HEADER);
    for (i, v) in values.iter().enumerate() {
        s.push_str(&format!(
            "Tp3,1.9.2,Linux,talos{},{},{v},{}\n",
            i % machines,
            20_090_000_000_000u64 + i as u64,
            T0 + 3600 * i as i64
        ));
    }
    s
}

fn analyze(input: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["analyze"];
    all.extend_from_slice(args);
    common::run_with_stdin(&all, input.as_bytes())
}

fn json(input: &str, args: &[&str]) -> (Value, i32) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = analyze(input, &all);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", common::stdout(&out), common::stderr(&out)));
    (v, out.status.code().unwrap_or(-1))
}

fn classes(v: &Value) -> Vec<String> {
    v["series"][0]["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["class"].as_str().expect("class").to_owned())
        .collect()
}

fn count(classes: &[String], name: &str) -> usize {
    classes.iter().filter(|c| *c == name).count()
}

fn noisy(rng: &mut Rng, n: usize, level: impl Fn(usize) -> f64, sd: f64) -> Vec<f64> {
    (0..n).map(|i| level(i) + sd * rng.normal()).collect()
}

#[test]
fn clean_step_is_exactly_one_regression_dated_at_the_step() {
    let mut rng = Rng::new(1);
    let v = noisy(&mut rng, 120, |i| if i < 60 { 200.0 } else { 230.0 }, 2.0);
    let (doc, code) = json(&csv(&v, 3), &[]);
    assert_eq!(code, 1, "a change exits 1");
    let changes = doc["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    let c = &changes[0];
    assert_eq!(c["index"], 60);
    assert_eq!(c["buildid"], "20090000000060");
    assert_eq!(c["direction"], "increase");
    assert_eq!(c["verdict"], "worse", "lower is better by default");
    let pct = c["percent"].as_f64().unwrap();
    assert!((pct - 15.0).abs() < 1.5, "{pct}");
    assert!((c["old"].as_f64().unwrap() - 200.0).abs() < 2.0);
    assert!((c["new"].as_f64().unwrap() - 230.0).abs() < 2.0);
    assert!(doc["machine_problems"].as_array().unwrap().is_empty());
    // The default (segment) marks the first point of the change; the
    // window method, as the original graph, two orange circles, then red.
    assert_eq!(doc["method"], "segment");
    assert_eq!(&classes(&doc)[59..62], ["good", "regression", "good"]);
    let (doc, _) = json(&csv(&v, 3), &["--method", "window"]);
    assert_eq!(doc["changes"].as_array().unwrap().len(), 1);
    assert_eq!(&classes(&doc)[60..63], ["spike", "spike", "regression"]);
}

#[test]
fn higher_is_better_turns_the_verdict() {
    let mut rng = Rng::new(2);
    let v = noisy(&mut rng, 100, |i| if i < 50 { 50.0 } else { 60.0 }, 0.5);
    let (doc, _) = json(&csv(&v, 1), &["--higher-is-better"]);
    assert_eq!(doc["changes"][0]["verdict"], "better");
    assert_eq!(doc["lower_is_better"], false);
}

#[test]
fn isolated_outlier_is_a_spike_and_nothing_else() {
    let mut rng = Rng::new(3);
    let mut v: Vec<f64> = (0..100).map(|_| 100.0 + rng.uniform() - 0.5).collect();
    v[70] = 140.0;
    let (doc, code) = json(&csv(&v, 3), &[]);
    assert_eq!(code, 0);
    let cl = classes(&doc);
    assert_eq!(cl[70], "spike");
    assert_eq!(count(&cl, "spike"), 1, "{cl:?}");
    assert_eq!(count(&cl, "good"), 99);
    assert!(doc["changes"].as_array().unwrap().is_empty());
}

#[test]
fn two_bad_points_from_one_machine_are_a_machine_problem() {
    // A fixed wobble rather than random noise: no point of the good machines
    // can stray out of tolerance by chance.
    let mut v: Vec<f64> = (0..90).map(|i| 100.0 + wobble(i)).collect();
    // Machine talos1 (every third point from 1) goes bad at its last two runs.
    v[85] = 120.0;
    v[88] = 121.0;
    let input = csv(&v, 3);
    let (doc, code) = json(&input, &[]);
    assert_eq!(code, 0, "a machine problem is not a regression");
    let cl = classes(&doc);
    assert_eq!((cl[85].as_str(), cl[88].as_str()), ("machine", "machine"));
    assert_eq!(count(&cl, "good"), 88, "{cl:?}");
    let m = doc["machine_problems"].as_array().unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["machine"], "talos1");
    assert_eq!(m[0]["index"], 88);
    let text = common::stdout(&analyze(&input, &[]));
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("Machine problem: Tp3 on talos1: last 2 points"), "{text}");
}

#[test]
fn slow_drift_within_tolerance_is_good() {
    // +6 % over 300 points, a fiftieth of the noise's range per point.
    let v: Vec<f64> = (0..300).map(|i| 100.0 + 0.02 * i as f64 + wobble(i)).collect();
    let (doc, code) = json(&csv(&v, 3), &[]);
    assert_eq!(code, 0);
    let cl = classes(&doc);
    assert_eq!(count(&cl, "good"), 300, "{cl:?}");
}

#[test]
fn slow_drift_adds_no_change_to_random_noise() {
    // The same noise with and without the drift: the drift must not turn
    // into a change, nor into more spikes than the noise gives (a few
    // borderline points may flip either way, hence the 10 %).
    let (mut flat_bad, mut drift_bad) = (0, 0);
    for seed in 30..36 {
        let mut rng = Rng::new(seed);
        let noise: Vec<f64> = (0..300).map(|_| rng.normal()).collect();
        let flat: Vec<f64> = noise.iter().map(|e| 100.0 + e).collect();
        let drift: Vec<f64> = noise.iter().enumerate().map(|(i, e)| 100.0 + 0.02 * i as f64 + e).collect();
        let (a, code_a) = json(&csv(&flat, 3), &[]);
        let (b, code_b) = json(&csv(&drift, 3), &[]);
        assert_eq!((code_a, code_b), (0, 0), "seed {seed}");
        let (ca, cb) = (classes(&a), classes(&b));
        assert_eq!(count(&cb, "regression"), 0, "seed {seed}");
        flat_bad += 300 - count(&ca, "good");
        drift_bad += 300 - count(&cb, "good");
    }
    assert!(drift_bad * 10 <= flat_bad * 11, "drift {drift_bad} vs noise {flat_bad}");
}

#[test]
fn noise_alone_gives_no_change() {
    for seed in 10..20 {
        let mut rng = Rng::new(seed);
        let v = noisy(&mut rng, 300, |_| 500.0, 5.0);
        for method in ["window", "ttest", "segment"] {
            let (doc, code) = json(&csv(&v, 3), &["--method", method]);
            assert_eq!(code, 0, "seed {seed} {method}: {}", doc["changes"]);
            assert!(doc["changes"].as_array().unwrap().is_empty());
            assert!(!classes(&doc).iter().any(|c| c == "regression"));
        }
    }
}

#[test]
fn seed_example_reads_like_the_original() {
    let mut rng = Rng::new(6);
    let v = noisy(&mut rng, 100, |i| if i < 60 { 418.0 } else { 236.0 }, 0.5);
    let out = analyze(&csv(&v, 3), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line = lines[0];
    // Point 60 is 60 hours after 2009-01-12T12:00Z: Thu Jan 15 00:00:00 2009.
    assert!(line.starts_with("Regression: Tp3 decrease from 41"), "{line}");
    assert!(line.contains(" to 23"), "{line}");
    let pct = line.split('(').nth(1).and_then(|r| r.split("%)").next()).unwrap();
    assert!(pct.starts_with("43.5") && pct.len() == 5, "{line}");
    assert!(line.ends_with("%) on Thu Jan 15 00:00:00 2009. Linux 1.9.2 build 20090000000060"), "{line}");
}

#[test]
fn ttest_finds_the_step_with_the_same_output() {
    let mut rng = Rng::new(7);
    let v = noisy(&mut rng, 120, |i| if i < 60 { 200.0 } else { 180.0 }, 2.0);
    let input = csv(&v, 3);
    let (doc, code) = json(&input, &["--method", "ttest"]);
    assert_eq!(code, 1);
    assert_eq!(doc["method"], "ttest");
    let changes = doc["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    let i = changes[0]["index"].as_i64().unwrap();
    assert!((59..=61).contains(&i), "{i}");
    assert_eq!(changes[0]["direction"], "decrease");
    let text = common::stdout(&analyze(&input, &["--method", "ttest"]));
    assert!(text.starts_with("Regression: Tp3 decrease from "), "{text}");
}

fn svg_circles(svg: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("circle"))
        .map(|n| (n.attribute("class").unwrap_or("").to_owned(), n.attribute("fill").unwrap_or("").to_owned()))
        .collect()
}

#[test]
fn svg_has_one_circle_per_non_good_point_coloured_by_class() {
    let mut rng = Rng::new(8);
    let mut v = noisy(&mut rng, 150, |i| if i < 80 { 300.0 } else { 330.0 }, 1.0);
    v[40] = 350.0; // a spike
    v[137] = 390.0; // talos2, twice: a machine problem after the change
    v[140] = 391.0;
    let input = csv(&v, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chart.svg");
    let (doc, _) = json(&input, &["--plot", path.to_str().unwrap()]);
    let cl = classes(&doc);
    for class in ["spike", "regression", "machine"] {
        assert!(count(&cl, class) > 0, "the series has no {class}: {cl:?}");
    }
    let svg = std::fs::read_to_string(&path).unwrap();
    let circles = svg_circles(&svg);
    assert_eq!(circles.len(), cl.iter().filter(|c| *c != "good").count());
    let mut expected: Vec<(String, String)> = cl
        .iter()
        .filter(|c| *c != "good")
        .map(|c| {
            let fill = match c.as_str() {
                "spike" => "orange",
                "regression" => "red",
                _ => "blue",
            };
            (c.clone(), fill.to_owned())
        })
        .collect();
    let mut got = circles;
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    assert!(svg.contains("stroke=\"green\"") && svg.contains("stroke=\"orange\""));
    assert!(svg.contains(">Jan 1"), "dates on the x axis");
}

#[test]
fn html_plot_holds_one_chart_per_series() {
    let mut s = String::from(HEADER);
    for (test, base) in [("Tp3", 100.0), ("Ts", 50.0)] {
        for i in 0..40 {
            s.push_str(&format!("{test},1.9.2,Linux,m,{i},{},{}\n", base + (i % 3) as f64, T0 + 60 * i));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.html");
    let out = analyze(&s, &["--plot", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let html = std::fs::read_to_string(&path).unwrap();
    assert_eq!(html.matches("<svg ").count(), 2);
    assert!(html.contains("<h2>Tp3 Linux 1.9.2</h2>") && html.contains("<h2>Ts Linux 1.9.2</h2>"));
    // Each embedded chart is well-formed XML on its own.
    for chunk in html.split("<svg ").skip(1) {
        let end = chunk.find("</svg>").unwrap() + "</svg>".len();
        svg_circles(&format!("<svg {}", &chunk[..end]));
    }
}

#[test]
fn json_lines_on_stdin_are_read_like_csv() {
    let mut rng = Rng::new(9);
    let v = noisy(&mut rng, 80, |i| if i < 40 { 10.0 } else { 12.0 }, 0.05);
    let mut s = String::new();
    for (i, x) in v.iter().enumerate() {
        s.push_str(&format!(
            "{{\"test\":\"Tp3\",\"machine\":\"m\",\"buildid\":{i},\"value\":{x},\"timestamp\":{}}}\n",
            T0 + i as i64
        ));
    }
    let (doc, code) = json(&s, &["-"]);
    assert_eq!(code, 1);
    assert_eq!(doc["changes"][0]["index"], 40);
    assert_eq!(doc["changes"][0]["date"], "2009-01-12T12:00:40Z");
}

#[test]
fn bad_row_is_named_and_exits_2() {
    let input = format!("{HEADER}Tp3,1.9.2,Linux,m,1,100,{T0}\nTp3,1.9.2,Linux,m,2,fast,{T0}\n");
    let out = analyze(&input, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = common::stderr(&out);
    assert!(err.contains("line 3") && err.contains("\"fast\""), "{err}");
}

#[test]
fn skip_bad_counts_skipped_rows_on_stderr() {
    let input = format!(
        "{HEADER}Tp3,1.9.2,Linux,m,1,100,{T0}\nTp3,1.9.2,Linux,m,2,fast,{T0}\nTp3,1.9.2,Linux,m,3,100,yesterday\n\
         Tp3,1.9.2,Linux,m,4,101,{T0}\n"
    );
    let out = analyze(&input, &["--skip-bad"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(err.contains("skipped 2 bad rows"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn unusable_inputs_and_arguments_exit_2() {
    let out = common::run(&["analyze", "/nonexistent/results.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("/nonexistent/results.csv"));
    assert_eq!(analyze("buildid,value\n1,2\n", &[]).status.code(), Some(2), "missing column");
    assert_eq!(analyze("", &[]).status.code(), Some(2), "empty input");
    assert_eq!(analyze(HEADER, &["--plot", "chart.png"]).status.code(), Some(2));
    assert_eq!(analyze(HEADER, &["--threshold", "-1"]).status.code(), Some(2));
    assert_eq!(analyze(HEADER, &["--machine-points", "1"]).status.code(), Some(2));
}

#[test]
fn skip_bad_with_every_row_bad_exits_2() {
    let input = format!("{HEADER}Tp3,1.9.2,Linux,m,1,fast,{T0}\nTp3,1.9.2,Linux,m,2,,{T0}\n");
    let out = analyze(&input, &["--skip-bad"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(out.stdout.is_empty());
    let err = common::stderr(&out);
    assert!(err.contains("2 bad rows") && err.contains("line 2"), "{err}");
}

#[test]
fn values_near_the_float_limit_keep_their_step_and_a_finite_chart() {
    let dir = tempfile::tempdir().unwrap();
    for (lo, hi) in [(1e200, 2e200), (1e308, -1e308), (-1e308, 1e308)] {
        let v: Vec<f64> = (0..100).map(|i| if i < 50 { lo } else { hi } * (1.0 + wobble(i) / 1000.0)).collect();
        let path = dir.path().join("edge.svg");
        let (doc, code) = json(&csv(&v, 1), &["--plot", path.to_str().unwrap()]);
        assert_eq!(code, 1, "{lo} to {hi}: {}", doc["changes"]);
        let changes = doc["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 1, "{lo} to {hi}: {changes:?}");
        assert_eq!(changes[0]["index"], 50);
        let pct = changes[0]["percent"].as_f64().expect("a finite percentage");
        let want = ((hi / lo) - 1.0f64).abs() * 100.0;
        assert!((pct - want).abs() < 1.0, "{pct} vs {want}");
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{lo} to {hi}");
        svg_circles(&svg);
    }
}

#[test]
fn plots_replace_links_instead_of_following_them_and_are_0644() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let path = dir.path().join("chart.svg");
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    let v: Vec<f64> = (0..40).map(|i| 100.0 + wobble(i)).collect();
    let out = analyze(&csv(&v, 1), &["--plot", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "no temporary left behind: {names:?}");
}

#[test]
fn segment_reads_the_seed_example_like_the_original() {
    let mut rng = Rng::new(6);
    let v = noisy(&mut rng, 200, |i| if i < 150 { 417.974 } else { 235.778 }, 0.5);
    let out = analyze(&csv(&v, 3), &["--method", "segment"]);
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("Regression: Tp3 decrease from 41"), "{text}");
    assert!(text.contains("(43.5") || text.contains("(43.6"), "{text}");
    assert!(text.trim_end().ends_with("Linux 1.9.2 build 20090000000150"), "{text}");
}

#[test]
fn segment_keeps_the_newest_points_pending_until_confirmed() {
    let mut v: Vec<f64> = (0..100).map(|i| 100.0 + wobble(i)).collect();
    v.extend([130.0, 131.0]);
    let (doc, code) = json(&csv(&v, 1), &["--method", "segment"]);
    assert_eq!(code, 0, "pending is no change yet: {}", doc["changes"]);
    let p = &doc["pending"][0];
    assert_eq!((p["index"].as_u64(), p["points"].as_u64(), p["needed"].as_u64()), (Some(100), Some(2), Some(1)));
    assert_eq!(&classes(&doc)[100..], ["pending", "pending"]);
    let text = common::stdout(&analyze(&csv(&v, 1), &["--method", "segment"]));
    assert!(text.starts_with("Pending: Tp3 last 2 points out of line, newest 131.000 where 100."), "{text}");
    assert!(text.contains("1 more point needed to decide"), "{text}");
    v.push(130.5);
    let (doc, code) = json(&csv(&v, 1), &["--method", "segment"]);
    assert_eq!(code, 1, "the third point confirms it");
    assert_eq!(doc["changes"][0]["index"], 100);
    assert!(doc["pending"].as_array().unwrap().is_empty());
}

#[test]
fn segment_reports_a_noise_change_as_its_own_kind_without_turning_red() {
    let mut rng = Rng::new(11);
    let v = noisy(&mut rng, 300, |_| 200.0, 1.0);
    let v: Vec<f64> = v.iter().enumerate().map(|(i, x)| if i < 150 { *x } else { 200.0 + (x - 200.0) * 5.0 }).collect();
    let (doc, code) = json(&csv(&v, 3), &["--method", "segment"]);
    assert_eq!(code, 0, "a variance change alone exits 0: {}", doc["changes"]);
    let changes = doc["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["kind"], "variance");
    assert_eq!(changes[0]["direction"], "increase");
    assert_eq!(changes[0]["verdict"], "worse");
    let i = changes[0]["index"].as_i64().unwrap();
    assert!((140..=160).contains(&i), "{i}");
    let text = common::stdout(&analyze(&csv(&v, 3), &["--method", "segment"]));
    assert!(text.starts_with("Variance change: Tp3 noise increase from "), "{text}");
}

#[test]
fn segment_keeps_spikes_and_machine_problems_as_the_window_method_does() {
    let mut v: Vec<f64> = (0..90).map(|i| 100.0 + wobble(i)).collect();
    v[40] = 140.0;
    v[85] = 120.0;
    v[88] = 121.0;
    let input = csv(&v, 3);
    let (doc, code) = json(&input, &["--method", "segment"]);
    assert_eq!(code, 0, "{}", doc["changes"]);
    let cl = classes(&doc);
    assert_eq!(cl[40], "spike");
    assert_eq!((cl[85].as_str(), cl[88].as_str()), ("machine", "machine"));
    let m = doc["machine_problems"].as_array().unwrap();
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0]["machine"], "talos1");
    assert_eq!(m[0]["index"], 88);
    let text = common::stdout(&analyze(&input, &["--method", "segment"]));
    assert!(text.starts_with("Machine problem: Tp3 on talos1: last 2 points"), "{text}");
}

/// The series of issue 24, 200 points with one change at point 120 unless
/// said otherwise: what sizes, counts and whole milliseconds look like;
/// each with the size of its change in percent and how close a method
/// must get to it (the milliseconds are drawn at random).
fn exact_and_quantised_cases() -> Vec<(&'static str, Vec<f64>, usize, f64, f64)> {
    let mut rng = Rng::new(24);
    let step = |n: usize, at: usize, old: f64, new: f64| (0..n).map(|i| if i < at { old } else { new }).collect();
    let size: Vec<f64> = step(200, 120, 4_812_736.0, 4_831_987.0);
    let instructions: Vec<f64> = (0..200)
        .map(|i| ((if i < 120 { 1.5e9 } else { 1.53e9 }) * (1.0 + 2e-6 * (rng.uniform() - 0.5))).round())
        .collect();
    let ms: Vec<f64> =
        (0..200).map(|i| if i < 120 { 10.0 } else { 12.0 } + (rng.uniform() < 0.5) as u8 as f64).collect();
    vec![
        ("size, exact, +0.4 %", size, 120, 0.4, 1e-4),
        ("instruction count, 1e-6 jitter, +2 %", instructions, 120, 2.0, 1e-3),
        ("exact 100 → 200, 100 points", step(100, 50, 100.0, 200.0), 50, 100.0, 1e-9),
        ("whole milliseconds 10/11 → 12/13", ms, 120, 19.0, 3.0),
        ("a count that leaves zero", step(200, 120, 0.0, 3.0), 120, f64::INFINITY, 0.0),
    ]
}

#[test]
fn every_method_reports_each_exact_or_quantised_change_once_with_its_size_and_build() {
    for (name, v, at, pct, close) in exact_and_quantised_cases() {
        for method in ["segment", "ttest", "window"] {
            let (doc, code) = json(&csv(&v, 1), &["--method", method]);
            assert_eq!(code, 1, "{name}, {method}: {}", doc["changes"]);
            let changes = doc["changes"].as_array().unwrap();
            assert_eq!(changes.len(), 1, "{name}, {method}: {changes:?}");
            let c = &changes[0];
            assert_eq!((c["index"].as_u64(), c["kind"].as_str()), (Some(at as u64), Some("level")), "{name}, {method}");
            assert_eq!(c["buildid"], (20_090_000_000_000u64 + at as u64).to_string());
            match c["percent"].as_f64() {
                Some(got) => assert!((got - pct).abs() <= close, "{name}, {method}: {got}"),
                None => assert!(pct.is_infinite(), "{name}, {method}: no percentage"),
            }
            let first_off = if method == "window" { "spike" } else { "regression" };
            assert_eq!(classes(&doc)[at], first_off, "{name}, {method}");
        }
    }
}

#[test]
fn exact_series_get_no_floor_and_timings_keep_theirs() {
    for (name, v, ..) in exact_and_quantised_cases() {
        let (doc, _) = json(&csv(&v, 1), &[]);
        let want = if name.contains("milliseconds") { 2.0 } else { 0.0 };
        assert_eq!(doc["series"][0]["min_change"].as_f64(), Some(want), "{name}");
    }
    // A floor given applies to every series: the 0.4 % of the size is under it.
    let (name, size, ..) = exact_and_quantised_cases().swap_remove(0);
    let (doc, code) = json(&csv(&size, 1), &["--min-change", "0.5"]);
    assert_eq!((code, doc["changes"].as_array().map(Vec::len)), (0, Some(0)), "{name}");
    assert_eq!(doc["series"][0]["min_change"].as_f64(), Some(0.5));
}

#[test]
fn a_constant_series_reports_nothing_with_every_method() {
    for method in ["segment", "ttest", "window"] {
        let (doc, code) = json(&csv(&[1234.0; 200], 1), &["--method", method]);
        assert_eq!(code, 0, "{method}");
        assert!(doc["changes"].as_array().unwrap().is_empty(), "{method}");
        assert_eq!(count(&classes(&doc), "good"), 200, "{method}");
    }
}

#[test]
fn a_point_that_leaves_an_exact_series_and_comes_back_is_a_spike_not_two_changes() {
    let mut v = vec![1_048_576.0; 200];
    v[80] = 1_048_577.0;
    for method in ["segment", "ttest", "window"] {
        let (doc, code) = json(&csv(&v, 1), &["--method", method]);
        assert_eq!(code, 0, "{method}: {}", doc["changes"]);
        let cl = classes(&doc);
        // ttest, as Perfherder, classes no spikes: it reports nothing.
        let spikes = if method == "ttest" { 0 } else { 1 };
        assert_eq!(count(&cl, "spike"), spikes, "{method}: {cl:?}");
        if spikes == 1 {
            assert_eq!(cl[80], "spike", "{method}");
        }
    }
}

#[test]
fn quantised_noise_alone_is_neither_spikes_nor_changes() {
    // Whole milliseconds, 10 or 11 in several proportions: most consecutive
    // points are equal, which made the noise look like none and every 11 a
    // spike.
    for (seed, share_of_11) in [(1, 0.2), (2, 0.3), (3, 0.5)] {
        let mut rng = Rng::new(seed);
        let v: Vec<f64> = (0..200).map(|_| if rng.uniform() < share_of_11 { 11.0 } else { 10.0 }).collect();
        let (doc, code) = json(&csv(&v, 1), &[]);
        assert_eq!(code, 0, "{share_of_11}: {}", doc["changes"]);
        let cl = classes(&doc);
        assert!(count(&cl, "good") >= 195, "{share_of_11}: {cl:?}");
    }
}
