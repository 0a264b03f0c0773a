//! Charts of analysed series, like the original flot graph: self-contained
//! SVG (no script, no external file), one chart per series, or one HTML page
//! holding all of them.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::date::{format_tick, year_of};
use super::{Analysis, Class, Series};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

/// The colour of each class's circle (good points get none).
pub fn colour(c: Class) -> Option<&'static str> {
    match c {
        Class::Good => None,
        Class::Spike => Some("orange"),
        Class::Regression => Some("red"),
        Class::Machine => Some("blue"),
        Class::Pending => Some("grey"),
    }
}

/// Text for SVG and HTML: markup escaped, and every character XML 1.0 does
/// not allow (the C0 controls but tab, newline and CR; U+FFFE and U+FFFF)
/// replaced by U+FFFD, so that a test name cannot make the chart unreadable.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}') => {
                out.push(char::REPLACEMENT_CHARACTER)
            }
            c => out.push(c),
        }
    }
    out
}

/// Maps data to pixels. The x axis is time when every point has a
/// timestamp and they span some time, else the point's index. The value
/// range is kept in quarters (`y0q`, `y1q`), so that values near `f64::MAX`
/// of both signs still have a finite span, padding included.
struct Scale {
    x0: f64,
    x1: f64,
    y0q: f64,
    y1q: f64,
    by_time: bool,
}

impl Scale {
    fn new(s: &Series) -> Scale {
        let times: Option<Vec<i64>> = s.points.iter().map(|p| p.time()).collect();
        let (mut x0, mut x1, mut by_time) = (0.0, s.points.len().saturating_sub(1) as f64, false);
        if let Some(ts) = times {
            let (lo, hi) = (ts.iter().min().copied(), ts.iter().max().copied());
            if let (Some(lo), Some(hi)) = (lo, hi) {
                if hi > lo {
                    (x0, x1, by_time) = (lo as f64, hi as f64, true);
                }
            }
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let finite = s.points.iter().map(|p| p.value).filter(|v| v.is_finite());
        let lo = finite.clone().fold(f64::INFINITY, f64::min);
        let hi = finite.fold(f64::NEG_INFINITY, f64::max);
        let (lo_q, hi_q) = if lo.is_finite() && hi.is_finite() { (lo / 4.0, hi / 4.0) } else { (0.0, 0.25) };
        let pad_q = if hi_q > lo_q { (hi_q - lo_q) * 0.05 } else { lo_q.abs().max(0.25) * 0.05 };
        Scale { x0, x1, y0q: lo_q - pad_q, y1q: hi_q + pad_q, by_time }
    }
    fn x_of(&self, s: &Series, i: usize) -> f64 {
        let v =
            if self.by_time { s.points.get(i).and_then(|p| p.time()).map_or(self.x0, |t| t as f64) } else { i as f64 };
        LEFT + (v - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)
    }
    fn y_of(&self, v: f64) -> f64 {
        TOP + (self.y1q - v / 4.0) / (self.y1q - self.y0q) * (HEIGHT - TOP - BOTTOM)
    }
}

/// A round step for about `n` ticks over a span given in quarters.
fn nice_step(span_q: f64, n: f64) -> f64 {
    let raw = span_q / n * 4.0;
    let mag = 10f64.powi(raw.log10().floor() as i32);
    let norm = raw / mag;
    let nice = if norm < 1.5 {
        1.0
    } else if norm < 3.0 {
        2.0
    } else if norm < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// A tick label: six decimals at most, or scientific notation for values
/// too large to round that way.
fn tick_label(v: f64) -> String {
    if v.abs() < 1e15 {
        format!("{}", (v * 1e6).round() / 1e6)
    } else {
        format!("{v:.3e}")
    }
}

/// Write the chart of one series as a standalone SVG document.
pub fn write_svg<W: Write>(out: &mut W, s: &Series, a: &Analysis) -> io::Result<()> {
    out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
    write_svg_element(out, s, a)
}

/// The `<svg>` element alone, for embedding in HTML.
pub fn write_svg_element<W: Write>(out: &mut W, s: &Series, a: &Analysis) -> io::Result<()> {
    let sc = Scale::new(s);
    let mut b = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        b,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let title = escape(&s.label());
    let _ = writeln!(b, "<title>{title}</title>");
    let _ = writeln!(b, "<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"white\"/>");
    let _ = writeln!(b, "<text x=\"{LEFT}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{title}</text>");
    let (px0, px1, py0, py1) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
    let _ = writeln!(b, "<path d=\"M{px0},{py0} V{py1} H{px1}\" fill=\"none\" stroke=\"black\" stroke-width=\"1\"/>");

    // Value ticks, counted in steps from the bottom so that no sum of
    // values can overflow.
    let step = nice_step(sc.y1q - sc.y0q, 6.0);
    if step.is_finite() && step > 0.0 {
        let first = (sc.y0q / step * 4.0).ceil();
        for k in 0..50 {
            let v = (first + f64::from(k)) * step;
            if !v.is_finite() || v / 4.0 > sc.y1q {
                break;
            }
            let y = sc.y_of(v);
            let _ = writeln!(
                b,
                "<line x1=\"{px0}\" y1=\"{y:.1}\" x2=\"{px1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                px0 - 6.0,
                y + 4.0,
                escape(&tick_label(v))
            );
        }
    }

    // Date (or index) ticks.
    let ticks = 6;
    let span = sc.x1 - sc.x0;
    let multi_year = sc.by_time && year_of(sc.x0 as i64) != year_of(sc.x1 as i64);
    for k in 0..=ticks {
        let v = sc.x0 + span * f64::from(k) / f64::from(ticks);
        let x = LEFT + (v - sc.x0) / span * (WIDTH - LEFT - RIGHT);
        let label = if sc.by_time {
            format_tick(v as i64, span < 3.0 * 86_400.0, multi_year)
        } else {
            format!("{}", v.round())
        };
        let _ = writeln!(
            b,
            "<line x1=\"{x:.1}\" y1=\"{py1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            py1 + 5.0,
            py1 + 20.0,
            escape(&label)
        );
    }
    let axis = if sc.by_time { "date (UTC)" } else { "point (ordered by build id)" };
    let _ = writeln!(
        b,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{axis}</text>",
        (px0 + px1) / 2.0,
        HEIGHT - 22.0
    );
    out.write_all(b.as_bytes())?;

    // The raw data of all machines, then the good data over it.
    write_polyline(out, &sc, s, "orange", |_| true, a)?;
    write_polyline(out, &sc, s, "green", |c| c == Class::Good, a)?;

    // One circle per point that is not good.
    out.write_all(b"<g stroke=\"black\" stroke-width=\"0.5\">\n")?;
    for (i, (&c, p)) in a.classes.iter().zip(&s.points).enumerate() {
        if let Some(col) = colour(c) {
            writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{col}\" class=\"{}\"/>",
                sc.x_of(s, i),
                sc.y_of(p.value),
                c.name()
            )?;
        }
    }
    out.write_all(b"</g>\n")?;

    // Legend, drawn with squares and strokes so circles stay one per point.
    let mut b = String::new();
    let entries = [
        ("line", "green", "good data"),
        ("line", "orange", "raw data, all machines"),
        ("dot", "orange", "spike"),
        ("dot", "red", "regression"),
        ("dot", "blue", "machine problem"),
        ("dot", "grey", "pending"),
    ];
    let mut x = LEFT;
    let y = HEIGHT - 8.0;
    for (kind, col, text) in entries {
        if kind == "line" {
            let _ = write!(
                b,
                "<line x1=\"{x}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{col}\" stroke-width=\"2\"/>",
                y - 4.0,
                x + 16.0,
                y - 4.0
            );
        } else {
            let _ = write!(
                b,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\" rx=\"4\" fill=\"{col}\"/>",
                x + 4.0,
                y - 8.0
            );
        }
        let _ = writeln!(b, "<text x=\"{:.1}\" y=\"{y:.1}\">{}</text>", x + 20.0, escape(text));
        x += 20.0 + 7.0 * text.len() as f64 + 16.0;
    }
    b.push_str("</svg>\n");
    out.write_all(b.as_bytes())
}

/// A polyline through the points whose class passes `keep`, broken into
/// pieces where points are left out (so the good line skips the bad data).
fn write_polyline<W: Write>(
    out: &mut W,
    sc: &Scale,
    s: &Series,
    col: &str,
    keep: impl Fn(Class) -> bool,
    a: &Analysis,
) -> io::Result<()> {
    let mut open = false;
    for (i, p) in s.points.iter().enumerate() {
        let kept = a.classes.get(i).is_some_and(|&c| keep(c));
        if kept {
            if !open {
                write!(out, "<polyline fill=\"none\" stroke=\"{col}\" stroke-width=\"1.5\" points=\"")?;
                open = true;
            }
            write!(out, "{:.1},{:.1} ", sc.x_of(s, i), sc.y_of(p.value))?;
        } else if open {
            out.write_all(b"\"/>\n")?;
            open = false;
        }
    }
    if open {
        out.write_all(b"\"/>\n")?;
    }
    Ok(())
}

/// Where the chart of series `index` (of its `label`) goes when `base`
/// is an `.svg` name: `base` itself for a lone series, else
/// `chart-1-Tp3_Linux_1.9.2.svg`, ... (a file-name-safe slug of the label).
pub fn svg_path(base: &Path, index: usize, label: &str, several: bool) -> PathBuf {
    if !several {
        return base.to_owned();
    }
    let stem = base.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let slug: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(60)
        .collect();
    let file = format!("{stem}-{}{}{slug}.svg", index + 1, if slug.is_empty() { "" } else { "-" });
    base.with_file_name(file)
}

/// One HTML page with a heading and an inline SVG chart per series.
pub fn write_html<W: Write>(out: &mut W, charts: &[(&Series, &Analysis)]) -> io::Result<()> {
    out.write_all(
        b"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
          <title>Performance analysis</title>\n\
          <style>body{font-family:sans-serif;margin:2em}svg{display:block;margin-bottom:2em}</style>\n\
          </head>\n<body>\n<h1>Performance analysis</h1>\n",
    )?;
    for (s, a) in charts {
        writeln!(out, "<h2>{}</h2>", escape(&s.label()))?;
        write_svg_element(out, s, a)?;
    }
    out.write_all(b"</body>\n</html>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_is_escaped() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;\u{fffd}");
    }

    #[test]
    fn names_with_characters_xml_forbids_still_make_well_formed_svg() {
        // XML 1.0 allows no C0 control but tab, newline and CR, and neither
        // U+FFFE nor U+FFFF; a test name can hold any of them.
        let test = "Tp3 \u{ffff}\u{fffe}\u{1}\u{1b}[2J\u{7f}\u{fdd0}\u{10ffff} <&>".to_owned();
        let s = Series { test: test.clone(), points: crate::perf::test_points::pts([1.0, 2.0]), ..Series::default() };
        let mut out = Vec::new();
        write_svg(&mut out, &s, &Analysis::with_len(2)).unwrap();
        let svg = String::from_utf8(out).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        let title = doc.descendants().find(|n| n.has_tag_name("title")).and_then(|n| n.text()).unwrap();
        assert_eq!(title, "Tp3 \u{fffd}\u{fffd}\u{fffd}\u{fffd}[2J\u{7f}\u{fdd0}\u{10ffff} <&>");
    }

    #[test]
    fn nice_steps_are_round() {
        let close = |a: f64, b: f64| (a - b).abs() <= b.abs() * 1e-12;
        for (span, n, want) in [(100.0, 5.0, 20.0), (1.0, 4.0, 0.2), (1e-3, 4.0, 2e-4), (3.6e15, 6.0, 5e14)] {
            let got = nice_step(span / 4.0, n);
            assert!(close(got, want), "{span}/{n}: {got}");
        }
        // At the edge of f64: a span of 2e308, given in quarters.
        assert!(close(nice_step(0.5e308, 6.0), 5e307));
    }

    #[test]
    fn extreme_values_scale_to_finite_pixels() {
        let series = |values: &[f64]| Series { points: crate::perf::test_points::pts(values), ..Series::default() };
        for values in [[1e308, -1e308, 5e307], [f64::MAX, f64::MAX, -f64::MAX], [1e200, 2e200, 1.5e200]] {
            let s = series(&values);
            let sc = Scale::new(&s);
            for v in values {
                let y = sc.y_of(v);
                assert!(y.is_finite() && (TOP..=HEIGHT - BOTTOM).contains(&y), "{v}: {y}");
            }
            let a = Analysis::with_len(3);
            let mut out = Vec::new();
            write_svg(&mut out, &s, &a).unwrap();
            let svg = String::from_utf8(out).unwrap();
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            assert!(svg.matches("text-anchor=\"end\"").count() >= 3, "value ticks: {svg}");
        }
    }
}
