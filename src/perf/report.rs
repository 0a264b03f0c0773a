//! The outputs of `analyze` other than the chart: the one-line text reports
//! of the original analysis (for mail, chat, nagios) and the JSON document.
//! Names from the input (test, machine, build) are escaped in the text, so
//! that a control character cannot reach a terminal or split a line; the
//! JSON keeps them exact.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::date::{format_asctime, format_rfc3339};
use super::{Analysis, Change, ChangeKind, Dataset, Direction, MachineProblem, Pending, Series};
use crate::text::escape;

/// Which way is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

impl Better {
    pub fn is_better(self, d: Direction) -> bool {
        matches!((self, d), (Better::Lower, Direction::Decrease) | (Better::Higher, Direction::Increase))
    }

    /// Whether a change is an improvement: less noise always is.
    pub fn judges(self, c: &Change) -> bool {
        match c.kind {
            ChangeKind::Level => self.is_better(c.direction),
            ChangeKind::Variance => c.direction == Direction::Decrease,
        }
    }
}

/// `Linux 1.9.2 build 20090130083434`: the tail of each line.
fn where_part(ds: &Dataset, s: &Series, index: usize) -> (String, Option<i64>) {
    let p = s.points.get(index);
    let mut parts: Vec<&str> = [s.platform.as_str(), s.branch.as_str()].into_iter().filter(|x| !x.is_empty()).collect();
    let id = p.map_or("", |p| ds.buildid(p));
    parts.push("build");
    parts.push(id);
    (escape(&parts.join(" ")).into_owned(), p.and_then(|p| p.time()))
}

fn date_part(t: Option<i64>) -> String {
    t.map(|t| format!(" on {}", format_asctime(t))).unwrap_or_default()
}

fn prefixed(test: &str) -> String {
    if test.is_empty() {
        String::new()
    } else {
        format!("{} ", escape(test))
    }
}

/// `Regression: Tp3 decrease from 417.974 to 235.778 (43.59%) on Fri Jan 30
/// 11:34:00 2009. Linux 1.9.2 build 20090130083434` (one line).
pub fn change_line(ds: &Dataset, s: &Series, c: &Change) -> String {
    let (tail, time) = where_part(ds, s, c.index);
    if c.kind == ChangeKind::Variance {
        return format!(
            "Variance change: {}noise {} from {:.3} to {:.3} (x{:.2}){}. {}",
            prefixed(&s.test),
            c.direction.name(),
            c.old,
            c.new,
            c.new / c.old,
            date_part(time),
            tail
        );
    }
    format!(
        "Regression: {}{} from {:.3} to {:.3} ({:.2}%){}. {}",
        prefixed(&s.test),
        c.direction.name(),
        c.old,
        c.new,
        c.percent(),
        date_part(time),
        tail
    )
}

/// `Machine problem: Tp3 on talos-linux-2: 2 points out of tolerance, last
/// 612.000 where 418.002 was expected, on .... Linux 1.9.2 build ...`.
pub fn machine_line(ds: &Dataset, s: &Series, m: &MachineProblem, points: usize) -> String {
    let (tail, time) = where_part(ds, s, m.index);
    let name = ds.machines.get(m.machine as usize).map_or("", String::as_str);
    let value = s.points.get(m.index).map_or(f64::NAN, |p| p.value);
    format!(
        "Machine problem: {}on {}: last {} points out of tolerance, {:.3} where {:.3} was expected{}. {}",
        prefixed(&s.test),
        escape(name),
        points,
        value,
        m.expected,
        date_part(time),
        tail
    )
}

/// `Pending: Tp3 last 2 points out of line, newest 131.000 where 100.000
/// was expected, since ...; 1 more point needed to decide. Linux ...`.
pub fn pending_line(ds: &Dataset, s: &Series, p: &Pending) -> String {
    let (tail, time) = where_part(ds, s, p.index);
    let newest = s.points.last().map_or(f64::NAN, |pt| pt.value);
    let since = time.map(|t| format!(" since {}", format_asctime(t))).unwrap_or_default();
    format!(
        "Pending: {}last {} point{} out of line, newest {:.3} where {:.3} was expected{}; {} more point{} needed to decide. {}",
        prefixed(&s.test),
        p.points,
        if p.points == 1 { "" } else { "s" },
        newest,
        p.expected,
        since,
        p.needed,
        if p.needed == 1 { "" } else { "s" },
        tail
    )
}

/// Every text line for one analysed series, in series order, the pending
/// newest points last.
pub fn write_text<W: Write>(
    out: &mut W,
    ds: &Dataset,
    s: &Series,
    a: &Analysis,
    machine_points: usize,
) -> io::Result<()> {
    let mut changes = a.changes.iter().peekable();
    let mut machines = a.machine_problems.iter().peekable();
    loop {
        let take_change = match (changes.peek(), machines.peek()) {
            (None, None) => break,
            (Some(c), Some(m)) => c.index <= m.index,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if take_change {
            if let Some(c) = changes.next() {
                writeln!(out, "{}", change_line(ds, s, c))?;
            }
        } else if let Some(m) = machines.next() {
            writeln!(out, "{}", machine_line(ds, s, m, machine_points))?;
        }
    }
    if let Some(p) = &a.pending {
        writeln!(out, "{}", pending_line(ds, s, p))?;
    }
    Ok(())
}

/// A finite number, or null: JSON has no NaN.
fn num(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The JSON document: settings, every point of every series, every change
/// and machine problem. Serialized as a stream (no tree in memory).
pub struct JsonReport<'a> {
    pub method: &'static str,
    pub better: Better,
    pub data: &'a Dataset,
    pub results: &'a [(usize, Analysis)],
}

struct SeriesId<'a>(&'a Series);

impl Serialize for SeriesId<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut st = ser.serialize_struct("Series", 3)?;
        st.serialize_field("test", &self.0.test)?;
        st.serialize_field("branch", &self.0.branch)?;
        st.serialize_field("platform", &self.0.platform)?;
        st.end()
    }
}

struct PointJson<'a> {
    ds: &'a Dataset,
    s: &'a Series,
    a: &'a Analysis,
    i: usize,
}

impl Serialize for PointJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let Some(p) = self.s.points.get(self.i) else { return ser.serialize_none() };
        let mut st = ser.serialize_struct("Point", 10)?;
        st.serialize_field("index", &self.i)?;
        st.serialize_field("buildid", self.ds.buildid(p))?;
        st.serialize_field("revision", &self.ds.revision(p))?;
        st.serialize_field("machine", self.ds.machine(p))?;
        st.serialize_field("value", &num(p.value))?;
        st.serialize_field("timestamp", &p.time())?;
        st.serialize_field("date", &p.time().map(format_rfc3339))?;
        st.serialize_field("class", &self.a.classes.get(self.i).map(|c| c.name()))?;
        st.serialize_field("expected", &self.a.expected.get(self.i).copied().and_then(num))?;
        st.serialize_field("tolerance", &self.a.tolerance.get(self.i).copied().and_then(num))?;
        st.end()
    }
}

struct SeriesJson<'a> {
    ds: &'a Dataset,
    s: &'a Series,
    a: &'a Analysis,
}

impl Serialize for SeriesJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut st = ser.serialize_struct("SeriesPoints", 5)?;
        st.serialize_field("test", &self.s.test)?;
        st.serialize_field("branch", &self.s.branch)?;
        st.serialize_field("platform", &self.s.platform)?;
        st.serialize_field("min_change", &num(self.a.min_change))?;
        st.serialize_field("points", &Points(self))?;
        st.end()
    }
}

struct Points<'a, 'b>(&'b SeriesJson<'a>);

impl Serialize for Points<'_, '_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let SeriesJson { ds, s, a } = *self.0;
        ser.collect_seq((0..s.points.len()).map(|i| PointJson { ds, s, a, i }))
    }
}

struct ChangeJson<'a> {
    ds: &'a Dataset,
    s: &'a Series,
    c: &'a Change,
    better: Better,
}

impl Serialize for ChangeJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let p = self.s.points.get(self.c.index);
        let better = self.better.judges(self.c);
        let mut st = ser.serialize_struct("Change", 13)?;
        st.serialize_field("series", &SeriesId(self.s))?;
        st.serialize_field("kind", &self.c.kind)?;
        st.serialize_field("index", &self.c.index)?;
        st.serialize_field("buildid", &p.map(|p| self.ds.buildid(p)))?;
        st.serialize_field("revision", &p.and_then(|p| self.ds.revision(p)))?;
        st.serialize_field("timestamp", &p.and_then(|p| p.time()))?;
        st.serialize_field("date", &p.and_then(|p| p.time()).map(format_rfc3339))?;
        st.serialize_field("old", &num(self.c.old))?;
        st.serialize_field("new", &num(self.c.new))?;
        st.serialize_field("percent", &num(self.c.percent()))?;
        st.serialize_field("direction", &self.c.direction)?;
        st.serialize_field("better", &better)?;
        st.serialize_field("verdict", if better { "better" } else { "worse" })?;
        st.end()
    }
}

struct MachineJson<'a> {
    ds: &'a Dataset,
    s: &'a Series,
    m: &'a MachineProblem,
}

impl Serialize for MachineJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let p = self.s.points.get(self.m.index);
        let mut st = ser.serialize_struct("MachineProblem", 8)?;
        st.serialize_field("series", &SeriesId(self.s))?;
        st.serialize_field("machine", self.ds.machines.get(self.m.machine as usize).map_or("", String::as_str))?;
        st.serialize_field("index", &self.m.index)?;
        st.serialize_field("buildid", &p.map(|p| self.ds.buildid(p)))?;
        st.serialize_field("timestamp", &p.and_then(|p| p.time()))?;
        st.serialize_field("date", &p.and_then(|p| p.time()).map(format_rfc3339))?;
        st.serialize_field("value", &p.and_then(|p| num(p.value)))?;
        st.serialize_field("expected", &num(self.m.expected))?;
        st.end()
    }
}

struct PendingJson<'a> {
    ds: &'a Dataset,
    s: &'a Series,
    p: &'a Pending,
}

impl Serialize for PendingJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let first = self.s.points.get(self.p.index);
        let mut st = ser.serialize_struct("Pending", 9)?;
        st.serialize_field("series", &SeriesId(self.s))?;
        st.serialize_field("index", &self.p.index)?;
        st.serialize_field("buildid", &first.map(|p| self.ds.buildid(p)))?;
        st.serialize_field("timestamp", &first.and_then(|p| p.time()))?;
        st.serialize_field("date", &first.and_then(|p| p.time()).map(format_rfc3339))?;
        st.serialize_field("points", &self.p.points)?;
        st.serialize_field("needed", &self.p.needed)?;
        st.serialize_field("newest", &self.s.points.last().and_then(|p| num(p.value)))?;
        st.serialize_field("expected", &num(self.p.expected))?;
        st.end()
    }
}

impl Serialize for JsonReport<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let ds = self.data;
        let pairs = || self.results.iter().filter_map(move |(i, a)| ds.series.get(*i).map(|s| (s, a)));
        let mut st = ser.serialize_struct("Report", 6)?;
        st.serialize_field("method", self.method)?;
        st.serialize_field("lower_is_better", &(self.better == Better::Lower))?;
        st.serialize_field(
            "changes",
            &Seq(|| {
                pairs()
                    .flat_map(move |(s, a)| a.changes.iter().map(move |c| ChangeJson { ds, s, c, better: self.better }))
            }),
        )?;
        st.serialize_field(
            "machine_problems",
            &Seq(|| pairs().flat_map(move |(s, a)| a.machine_problems.iter().map(move |m| MachineJson { ds, s, m }))),
        )?;
        st.serialize_field(
            "pending",
            &Seq(|| pairs().filter_map(move |(s, a)| a.pending.as_ref().map(|p| PendingJson { ds, s, p }))),
        )?;
        st.serialize_field("series", &Seq(|| pairs().map(|(s, a)| SeriesJson { ds, s, a })))?;
        st.end()
    }
}

/// A sequence serialized from a fresh iterator, without collecting it.
struct Seq<F>(F);

impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq((self.0)())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::{input, Format};

    #[test]
    fn change_line_has_the_seed_form() {
        let p = input::parse(
            "test,branch,platform,machine,buildid,value,timestamp\n\
             Tp3,1.9.2,Linux,m,20090130083434,235.8,2009-01-30T11:34:00Z\n"
                .as_bytes(),
            Format::Csv,
            false,
        )
        .unwrap();
        let ds = &p.dataset;
        let c =
            Change { index: 0, old: 417.974, new: 235.778, direction: Direction::Decrease, kind: ChangeKind::Level };
        assert_eq!(
            change_line(ds, &ds.series[0], &c),
            "Regression: Tp3 decrease from 417.974 to 235.778 (43.59%) on Fri Jan 30 11:34:00 2009. \
             Linux 1.9.2 build 20090130083434"
        );
    }

    #[test]
    fn lower_is_better_makes_a_decrease_better() {
        assert!(Better::Lower.is_better(Direction::Decrease));
        assert!(!Better::Lower.is_better(Direction::Increase));
        assert!(Better::Higher.is_better(Direction::Increase));
    }
}
