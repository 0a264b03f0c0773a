//! Reading benchmark results: CSV with a header row or JSON lines, one
//! result per row, grouped into series. CSV goes through the `csv` crate
//! and JSON lines through serde_json, one row at a time, so that a bad row
//! is reported by its line number and ten million rows stream through
//! without a copy of the input.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, BufRead, Read};

use csv::ByteRecord;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::date::{self, DateError};
use super::{Dataset, Point, Series, NO_TIME};

/// How the input is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON lines when the first non-blank line starts with `{`, else CSV.
    Auto,
    Csv,
    Json,
}

/// Why a row was refused.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("a quoted field is not closed before the end of the input")]
    UnclosedQuote,
    #[error("{found} fields where the header has {expected}")]
    FieldCount { expected: usize, found: usize },
    #[error("no {0:?}")]
    Missing(&'static str),
    #[error("{field} {text:?} is not a finite number")]
    NotANumber { field: &'static str, text: String },
    #[error("{0}")]
    Timestamp(#[source] DateError),
    #[error("not a JSON object with the expected fields: {0}")]
    Json(#[source] serde_json::Error),
    #[error("a field is longer than 4 GiB")]
    TooLong,
}

/// Why the input as a whole was refused.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("reading the input failed: {0}")]
    Read(#[source] std::io::Error),
    #[error("line {line}: {source}")]
    BadRow {
        line: u64,
        #[source]
        source: RowError,
    },
    #[error("line {line}: the CSV header has no {column:?} column")]
    MissingColumn { line: u64, column: &'static str },
    #[error("line {line}: the CSV header names {column:?} twice")]
    DuplicateColumn { line: u64, column: String },
    #[error("the input has no data rows")]
    Empty,
    #[error("no row could be read: {skipped} bad rows skipped (first: {first})")]
    AllBad { skipped: u64, first: Box<InputError> },
}

/// The series read, and how many bad rows were skipped.
#[derive(Debug, Default)]
pub struct Parsed {
    pub dataset: Dataset,
    pub rows: u64,
    pub skipped: u64,
    /// The first bad row skipped, to show the person what was wrong.
    pub first_skipped: Option<InputError>,
}

/// One row, borrowed from the line it came from.
struct Row<'a> {
    buildid: &'a str,
    value: f64,
    machine: &'a str,
    test: &'a str,
    branch: &'a str,
    platform: &'a str,
    timestamp: Option<i64>,
    revision: &'a str,
}

/// Read every row of `reader`. With `skip_bad`, rows that do not parse are
/// counted instead of stopping the read; a broken header always stops it,
/// and so does an input none of whose rows could be read.
pub fn parse<R: BufRead>(mut reader: R, format: Format, skip_bad: bool) -> Result<Parsed, InputError> {
    let mut lines = Lines { reader: &mut reader, number: 0, buf: Vec::new() };
    let mut builder = Builder::default();
    let mut bad = BadRows { skip: skip_bad, skipped: 0, first: None };

    // Find the first non-blank line: it decides the format and, for CSV, is
    // the header.
    let first = loop {
        match lines.next_line()? {
            None => return Err(InputError::Empty),
            Some(_) if is_blank(&lines.buf) => {}
            Some(l) => break l,
        }
    };
    let first_bytes = strip_bom(&lines.buf).to_vec();
    let is_json = match format {
        Format::Json => true,
        Format::Csv => false,
        Format::Auto => first_bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
    };

    if is_json {
        let mut line = first;
        let mut bytes = first_bytes;
        loop {
            if !is_blank(&bytes) {
                match json_row(&bytes) {
                    Ok(row) => builder.push(&row.as_row()).map_err(|e| InputError::BadRow { line, source: e })?,
                    Err(e) => bad.note(line, e)?,
                }
            }
            match lines.next_line()? {
                None => break,
                Some(l) => {
                    line = l;
                    bytes.clear();
                    bytes.extend_from_slice(&lines.buf);
                }
            }
        }
    } else {
        let mut head = first_bytes;
        head.push(b'\n');
        parse_csv(io::Cursor::new(head).chain(reader), first - 1, &mut builder, &mut bad)?;
    }
    let rows = builder.rows;
    if rows == 0 {
        return Err(match bad.first {
            None => InputError::Empty,
            Some(first) => InputError::AllBad { skipped: bad.skipped, first: Box::new(first) },
        });
    }
    Ok(Parsed { dataset: builder.finish(), rows, skipped: bad.skipped, first_skipped: bad.first })
}

/// What to do with a row that does not parse: stop, or count it and go on.
struct BadRows {
    skip: bool,
    skipped: u64,
    first: Option<InputError>,
}

impl BadRows {
    fn note(&mut self, line: u64, source: RowError) -> Result<(), InputError> {
        let err = InputError::BadRow { line, source };
        if !self.skip {
            return Err(err);
        }
        self.skipped = self.skipped.saturating_add(1);
        self.first.get_or_insert(err);
        Ok(())
    }
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_whitespace)
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

/// Physical lines, without their line ending, numbered from 1.
struct Lines<'r, R> {
    reader: &'r mut R,
    number: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<'_, R> {
    /// Read the next line into `buf`; its number, or None at the end.
    fn next_line(&mut self) -> Result<Option<u64>, InputError> {
        self.buf.clear();
        let n = self.reader.read_until(b'\n', &mut self.buf).map_err(InputError::Read)?;
        if n == 0 {
            return Ok(None);
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        self.number = self.number.saturating_add(1);
        Ok(Some(self.number))
    }
}

/// The input of the CSV reader, watched as it passes for two things the
/// `csv` crate does not tell:
/// - the line a record starts on (its own count skips empty lines): the
///   offsets of the newlines read but not yet passed by a record are kept,
///   at most one read buffer's worth;
/// - the double quotes: in RFC 4180 they come in pairs, so an odd count at
///   the end means the last record opened a quoted field that never closed
///   (the crate, lenient, ends the field at the end of the input).
struct Watched<R> {
    inner: R,
    quotes: u64,
    offset: u64,
    /// Newlines ahead of the records: their offset, and whether a `\r`
    /// came just before.
    newlines: VecDeque<(u64, bool)>,
    last_was_cr: bool,
    lines_passed: u64,
}

impl<R> Watched<R> {
    fn new(inner: R) -> Watched<R> {
        Watched { inner, quotes: 0, offset: 0, newlines: VecDeque::new(), last_was_cr: false, lines_passed: 0 }
    }

    /// The 0-based line of a record the crate says starts at `offset`.
    /// Offsets must not go back. The crate's offset is that of the empty
    /// lines it skipped before the record, if any: those are passed too.
    fn line_at(&mut self, mut offset: u64) -> u64 {
        while let Some(&(nl, cr)) = self.newlines.front() {
            let blank_here = nl == offset || (cr && nl == offset + 1);
            if nl >= offset && !blank_here {
                break;
            }
            if blank_here {
                offset = nl + 1;
            }
            self.newlines.pop_front();
            self.lines_passed += 1;
        }
        self.lines_passed
    }
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let data = buf.get(..n).unwrap_or_default();
        // Counted and searched a block at a time (these two passes vectorise;
        // a byte-by-byte match was a tenth of the whole run).
        self.quotes += data.iter().filter(|&&c| c == b'"').count() as u64;
        for i in memchr::memchr_iter(b'\n', data) {
            let cr = match i.checked_sub(1) {
                Some(before) => data.get(before) == Some(&b'\r'),
                None => self.last_was_cr,
            };
            self.newlines.push_back((self.offset + i as u64, cr));
        }
        if let Some(&last) = data.last() {
            self.last_was_cr = last == b'\r';
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// The CSV rows after the header line, through the `csv` crate. `before`
/// is the number of lines the caller read before the header, so that
/// errors name lines of the whole input.
fn parse_csv<R: Read>(input: R, before: u64, builder: &mut Builder, bad: &mut BadRows) -> Result<(), InputError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(Watched::new(input));
    let line_of = |csv: &mut csv::Reader<Watched<R>>, r: &ByteRecord| {
        let byte = r.position().map_or(0, csv::Position::byte);
        before.saturating_add(csv.get_mut().line_at(byte)).saturating_add(1)
    };
    let read = |csv: &mut csv::Reader<Watched<R>>, r: &mut ByteRecord| {
        csv.read_byte_record(r).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(e) => InputError::Read(e),
            other => InputError::Read(io::Error::other(format!("{other:?}"))),
        })
    };

    let mut header = ByteRecord::new();
    read(&mut csv, &mut header)?;
    let header_line = line_of(&mut csv, &header);
    let mut cur = ByteRecord::new();
    let mut more = read(&mut csv, &mut cur)?;
    let unclosed = |csv: &csv::Reader<Watched<R>>| csv.get_ref().quotes % 2 == 1;
    if !more && unclosed(&csv) {
        return Err(InputError::BadRow { line: header_line, source: RowError::UnclosedQuote });
    }
    let cols = Columns::from_header(&header, header_line)?;

    // One record is read ahead: only at the end of the input is it known
    // whether the last one closed its quotes.
    let mut next = ByteRecord::new();
    while more {
        let line = line_of(&mut csv, &cur);
        more = read(&mut csv, &mut next)?;
        if !is_blank_record(&cur) {
            let result = if !more && unclosed(&csv) { Err(RowError::UnclosedQuote) } else { cols.row(&cur) };
            match result {
                Ok(row) => builder.push(&row).map_err(|e| InputError::BadRow { line, source: e })?,
                Err(e) => bad.note(line, e)?,
            }
        }
        std::mem::swap(&mut cur, &mut next);
    }
    Ok(())
}

/// A line of blanks alone (the `csv` crate skips empty lines itself).
fn is_blank_record(r: &ByteRecord) -> bool {
    r.len() == 1 && r.get(0).is_some_and(is_blank)
}

/// Where each known column is in the CSV rows.
struct Columns {
    count: usize,
    buildid: usize,
    value: usize,
    machine: usize,
    test: Option<usize>,
    branch: Option<usize>,
    platform: Option<usize>,
    timestamp: Option<usize>,
    revision: Option<usize>,
}

impl Columns {
    fn from_header(header: &ByteRecord, line: u64) -> Result<Columns, InputError> {
        let mut found: HashMap<String, usize> = HashMap::new();
        for (i, field) in header.iter().enumerate() {
            let name = std::str::from_utf8(field)
                .map_err(|_| InputError::BadRow { line, source: RowError::NotUtf8 })?
                .trim()
                .to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            if found.insert(name.clone(), i).is_some() {
                return Err(InputError::DuplicateColumn { line, column: name });
            }
        }
        let need = |column: &'static str| found.get(column).copied().ok_or(InputError::MissingColumn { line, column });
        Ok(Columns {
            count: header.len(),
            buildid: need("buildid")?,
            value: need("value")?,
            machine: need("machine")?,
            test: found.get("test").copied(),
            branch: found.get("branch").copied(),
            platform: found.get("platform").copied(),
            timestamp: found.get("timestamp").copied(),
            revision: found.get("revision").copied(),
        })
    }

    fn row<'a>(&self, record: &'a ByteRecord) -> Result<Row<'a>, RowError> {
        if record.len() != self.count {
            return Err(RowError::FieldCount { expected: self.count, found: record.len() });
        }
        // One UTF-8 check for the whole record, then fields by their ranges.
        let text = std::str::from_utf8(record.as_slice()).map_err(|_| RowError::NotUtf8)?;
        let get = |i: Option<usize>| -> Result<&'a str, RowError> {
            Ok(i.and_then(|i| record.range(i)).and_then(|r| text.get(r)).map_or("", str::trim_ascii))
        };
        let buildid = required(get(Some(self.buildid))?, "buildid")?;
        let machine = required(get(Some(self.machine))?, "machine")?;
        let value = number(required(get(Some(self.value))?, "value")?, "value")?;
        let ts = get(self.timestamp)?;
        let timestamp =
            if ts.is_empty() { None } else { Some(date::parse_timestamp(ts).map_err(RowError::Timestamp)?) };
        Ok(Row {
            buildid,
            value,
            machine,
            test: get(self.test)?,
            branch: get(self.branch)?,
            platform: get(self.platform)?,
            timestamp,
            revision: get(self.revision)?,
        })
    }
}

fn required<'a>(s: &'a str, field: &'static str) -> Result<&'a str, RowError> {
    if s.is_empty() {
        Err(RowError::Missing(field))
    } else {
        Ok(s)
    }
}

fn number(s: &str, field: &'static str) -> Result<f64, RowError> {
    match s.trim_ascii().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(RowError::NotANumber { field, text: s.to_owned() }),
    }
}

/// A JSON scalar where the schema allows a number or a string.
#[derive(Debug)]
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Int(i128),
    Float(f64),
    Bool(bool),
}

impl Scalar<'_> {
    fn text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Text(s) => Cow::Borrowed(s.trim()),
            Scalar::Int(n) => Cow::Owned(n.to_string()),
            Scalar::Float(f) => Cow::Owned(f.to_string()),
            Scalar::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(i128::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct JsonRow<'a> {
    #[serde(borrow, default)]
    buildid: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    value: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    machine: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    test: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    branch: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    platform: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    timestamp: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    revision: Option<Scalar<'a>>,
}

/// A JSON row, owned: its line buffer is reused for the next line.
struct OwnedRow {
    buildid: String,
    value: f64,
    machine: String,
    test: String,
    branch: String,
    platform: String,
    timestamp: Option<i64>,
    revision: String,
}

impl OwnedRow {
    fn as_row(&self) -> Row<'_> {
        Row {
            buildid: &self.buildid,
            value: self.value,
            machine: &self.machine,
            test: &self.test,
            branch: &self.branch,
            platform: &self.platform,
            timestamp: self.timestamp,
            revision: &self.revision,
        }
    }
}

fn json_row(line: &[u8]) -> Result<OwnedRow, RowError> {
    let raw: JsonRow<'_> = serde_json::from_slice(line).map_err(RowError::Json)?;
    let text = |s: &Option<Scalar<'_>>| s.as_ref().map(|s| s.text().into_owned()).unwrap_or_default();
    let buildid = text(&raw.buildid);
    let machine = text(&raw.machine);
    required(&buildid, "buildid")?;
    required(&machine, "machine")?;
    let value = match &raw.value {
        None => return Err(RowError::Missing("value")),
        Some(Scalar::Int(n)) => *n as f64,
        Some(Scalar::Float(f)) => *f,
        Some(s) => number(&s.text(), "value")?,
    };
    if !value.is_finite() {
        return Err(RowError::NotANumber { field: "value", text: value.to_string() });
    }
    let out_of_range = |t: String| RowError::Timestamp(DateError::OutOfRange(t));
    let timestamp = match &raw.timestamp {
        None => None,
        Some(Scalar::Int(n)) => Some(
            i64::try_from(*n)
                .ok()
                .filter(|&n| date::from_float_seconds(n as f64).is_some())
                .ok_or_else(|| out_of_range(n.to_string()))?,
        ),
        Some(Scalar::Float(f)) => Some(date::from_float_seconds(*f).ok_or_else(|| out_of_range(f.to_string()))?),
        Some(s) => {
            let t = s.text();
            if t.is_empty() {
                None
            } else {
                Some(date::parse_timestamp(&t).map_err(RowError::Timestamp)?)
            }
        }
    };
    Ok(OwnedRow {
        buildid,
        value,
        machine,
        test: text(&raw.test),
        branch: text(&raw.branch),
        platform: text(&raw.platform),
        timestamp,
        revision: text(&raw.revision),
    })
}

/// Groups rows into series as they come, interning machines.
#[derive(Default)]
struct Builder {
    data: Dataset,
    series_index: HashMap<(String, String, String), usize>,
    last_series: Option<usize>,
    machine_index: crate::fnv::FnvMap<String, u32>,
    recent_machines: Vec<u32>,
    rows: u64,
}

/// How many machines [`Builder`] checks before its map.
const RECENT_MACHINES: usize = 8;

/// String equality compared in line: the short names of a row are compared
/// several times per row, and a call to `memcmp` for each costs more than
/// the comparison of a few bytes itself.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

impl Builder {
    fn push(&mut self, row: &Row<'_>) -> Result<(), RowError> {
        let series = self.series_for(row.test, row.branch, row.platform);
        // The few machines of a series come round in turn: the ones seen
        // last are checked before the map.
        let recent = self
            .recent_machines
            .iter()
            .copied()
            .find(|&m| self.data.machines.get(m as usize).is_some_and(|name| same(name, row.machine)));
        let machine = match recent.or_else(|| self.machine_index.get(row.machine).copied()) {
            Some(m) => m,
            None => {
                let m = u32::try_from(self.data.machines.len()).map_err(|_| RowError::TooLong)?;
                self.data.machines.push(row.machine.to_owned());
                self.machine_index.insert(row.machine.to_owned(), m);
                m
            }
        };
        if recent.is_none() {
            if self.recent_machines.len() >= RECENT_MACHINES {
                self.recent_machines.remove(0);
            }
            self.recent_machines.push(machine);
        }
        let buildid_len = u32::try_from(row.buildid.len()).map_err(|_| RowError::TooLong)?;
        let revision_len = u32::try_from(row.revision.len()).map_err(|_| RowError::TooLong)?;
        let text_start = self.data.arena.len();
        self.data.arena.push_str(row.buildid);
        self.data.arena.push_str(row.revision);
        // Integer ids (the usual case) parse faster as integers.
        let key = match row.buildid.parse::<u64>() {
            Ok(k) => k as f64,
            Err(_) => match row.buildid.parse::<f64>() {
                Ok(k) if k.is_finite() => k,
                _ => f64::NAN,
            },
        };
        let point = Point {
            value: row.value,
            key,
            timestamp: row.timestamp.unwrap_or(NO_TIME),
            text_start,
            buildid_len,
            revision_len,
            machine,
        };
        if let Some(s) = self.data.series.get_mut(series) {
            s.points.push(point);
        }
        self.rows = self.rows.saturating_add(1);
        Ok(())
    }

    fn series_for(&mut self, test: &str, branch: &str, platform: &str) -> usize {
        if let Some(i) = self.last_series {
            if let Some(s) = self.data.series.get(i) {
                if same(&s.test, test) && same(&s.branch, branch) && same(&s.platform, platform) {
                    return i;
                }
            }
        }
        let key = (test.to_owned(), branch.to_owned(), platform.to_owned());
        let i = match self.series_index.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.data.series.len();
                self.data.series.push(Series {
                    test: key.0.clone(),
                    branch: key.1.clone(),
                    platform: key.2.clone(),
                    points: Vec::new(),
                });
                self.series_index.insert(key, i);
                i
            }
        };
        self.last_series = Some(i);
        i
    }

    /// Order every series by build id: numerically when all its ids are
    /// numbers, as text otherwise; equal ids keep the input order.
    fn finish(mut self) -> Dataset {
        let arena = &self.data.arena;
        for s in &mut self.data.series {
            let numeric = s.points.iter().all(|p| !p.key.is_nan());
            let text = |p: &Point| arena.get(p.buildid_range()).unwrap_or("");
            if numeric {
                if !s.points.windows(2).all(|w| matches!(w, [a, b] if a.key <= b.key)) {
                    s.points.sort_by(|a, b| a.key.total_cmp(&b.key));
                }
            } else if !s.points.windows(2).all(|w| matches!(w, [a, b] if text(a) <= text(b))) {
                s.points.sort_by(|a, b| text(a).cmp(text(b)));
            }
        }
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str, skip: bool) -> Result<Parsed, InputError> {
        parse(s.as_bytes(), Format::Auto, skip)
    }

    #[test]
    fn csv_groups_series_and_orders_by_numeric_buildid() {
        let p = parse_str(
            "test,branch,platform,machine,buildid,value,timestamp\n\
             Tp3,1.9.2,Linux,a,10,2.5,2009-01-30T11:34:00Z\n\
             Tp3,1.9.2,Linux,b,9,3,1233315240\n\
             Ts,1.9.2,Linux,a,1,7,\n",
            false,
        )
        .unwrap();
        let d = &p.dataset;
        assert_eq!(d.series.len(), 2);
        let tp3 = &d.series[0];
        assert_eq!(tp3.label(), "Tp3 Linux 1.9.2");
        let ids: Vec<&str> = tp3.points.iter().map(|p| d.buildid(p)).collect();
        assert_eq!(ids, ["9", "10"]);
        assert_eq!(d.machine(&tp3.points[0]), "b");
        assert_eq!(tp3.points[1].time(), Some(1_233_315_240));
        assert_eq!(d.series[1].points[0].time(), None);
    }

    #[test]
    fn text_buildids_sort_as_text() {
        let p = parse_str("buildid,value,machine\nb,1,m\na10,2,m\na9,3,m\n", false).unwrap();
        let d = &p.dataset;
        let ids: Vec<&str> = d.series[0].points.iter().map(|p| d.buildid(p)).collect();
        assert_eq!(ids, ["a10", "a9", "b"]);
    }

    #[test]
    fn quoted_fields_may_hold_commas_quotes_and_newlines() {
        let p = parse_str("machine,buildid,value,test\n\"m,1\",1,5,\"say \"\"hi\"\"\nthere\"\n\"m,1\",2,6,x\n", false)
            .unwrap();
        let d = &p.dataset;
        assert_eq!(d.series[0].test, "say \"hi\"\nthere");
        assert_eq!(d.machine(&d.series[0].points[0]), "m,1");
        assert_eq!(p.rows, 2);
    }

    #[test]
    fn bad_row_error_names_its_line() {
        let e = parse_str("buildid,value,machine\n1,5,a\n\n2,fast,a\n", false).unwrap_err();
        assert!(matches!(e, InputError::BadRow { line: 4, .. }), "{e}");
        assert!(e.to_string().contains("line 4"), "{e}");
        assert!(e.to_string().contains("\"fast\""), "{e}");
    }

    #[test]
    fn skip_bad_counts_and_keeps_good_rows() {
        let p = parse_str("buildid,value,machine\n1,5,a\n2,nan,a\n3,,a\n4,1,2,3\n5,6,a\n", true).unwrap();
        assert_eq!(p.rows, 2);
        assert_eq!(p.skipped, 3);
        assert!(matches!(p.first_skipped, Some(InputError::BadRow { line: 3, .. })));
    }

    #[test]
    fn missing_column_is_named() {
        let e = parse_str("buildid,val,machine\n1,5,a\n", true).unwrap_err();
        assert!(matches!(e, InputError::MissingColumn { column: "value", .. }), "{e}");
    }

    #[test]
    fn json_lines_accept_numbers_or_strings() {
        let p = parse_str(
            "{\"buildid\": 20090130083434, \"value\": 417.9, \"machine\": \"m\", \"timestamp\": \"2009-01-30T11:34:00Z\", \"test\": \"T\\u0070\"}\n\
             \n{\"buildid\": \"20090130083433\", \"value\": \"1.5\", \"machine\": 3, \"timestamp\": 1233315240.5}\n",
            false,
        )
        .unwrap();
        let d = &p.dataset;
        assert_eq!(d.series.len(), 2);
        assert_eq!(d.series[0].test, "Tp");
        assert_eq!(d.buildid(&d.series[0].points[0]), "20090130083434");
        assert_eq!(d.machine(&d.series[1].points[0]), "3");
        assert_eq!(d.series[1].points[0].time(), Some(1_233_315_240));
    }

    #[test]
    fn json_garbage_is_a_bad_row() {
        let e = parse_str("{\"buildid\":1,\"value\":2,\"machine\":\"a\"}\n{\"buildid\":1,\"value\":[2]}\n", false)
            .unwrap_err();
        assert!(matches!(e, InputError::BadRow { line: 2, .. }), "{e}");
    }

    #[test]
    fn empty_and_header_only_inputs_are_refused() {
        assert!(matches!(parse_str("", false), Err(InputError::Empty)));
        assert!(matches!(parse_str("\n  \n", false), Err(InputError::Empty)));
        assert!(matches!(parse_str("buildid,value,machine\n", false), Err(InputError::Empty)));
    }

    #[test]
    fn random_bytes_never_panic() {
        // A small xorshift over an alphabet rich in CSV and JSON syntax.
        let alphabet = b"buildid,value,machine,timestamp\"{}:[]0123456789.-eE+TZ \n\r\xff\xc3";
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2000 {
            let mut input = b"buildid,value,machine,timestamp\n".to_vec();
            if x % 3 == 0 {
                input.clear();
            }
            for _ in 0..(x % 97) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                input.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for skip in [false, true] {
                for format in [Format::Auto, Format::Csv, Format::Json] {
                    let _ = parse(&input[..], format, skip);
                }
            }
        }
    }

    #[test]
    fn unclosed_quote_is_refused_not_panicking() {
        let e = parse_str("buildid,value,machine\n1,5,\"a\n", false).unwrap_err();
        assert!(matches!(e, InputError::BadRow { line: 2, source: RowError::UnclosedQuote }), "{e}");
        let e = parse_str("buildid,value,machine\n1,5,a\n2,6,\"b\n\n3,7,c\n", true).unwrap();
        assert_eq!((e.rows, e.skipped), (1, 1), "the unclosed field swallowed the rest");
        assert!(matches!(e.first_skipped, Some(InputError::BadRow { line: 3, .. })));
        assert!(parse(&b"buildid,value,machine\n1,5,\xff\n"[..], Format::Auto, false).is_err());
        assert!(matches!(
            parse_str("buildid,value,\"machine\n1,5,a\n", false),
            Err(InputError::BadRow { line: 1, source: RowError::UnclosedQuote })
        ));
    }

    #[test]
    fn text_after_a_closing_quote_joins_the_field_as_the_csv_crate_reads_it() {
        let p = parse_str("buildid,value,machine\n1,5,\"a\"x\n", false).unwrap();
        assert_eq!(p.dataset.machine(&p.dataset.series[0].points[0]), "ax");
    }

    #[test]
    fn line_numbers_count_blank_lines_crlf_and_quoted_newlines() {
        let e = parse_str("\n \r\nbuildid,value,machine\r\n1,5,\"a\r\nb\"\r\n\r\n  \n2,x,a\n", false).unwrap_err();
        assert!(matches!(e, InputError::BadRow { line: 8, .. }), "{e}");
        let e = parse_str("buildid,value,machine\n1,5,a\n\n\n\r\n2,6,b\n3,x,a\n", false).unwrap_err();
        assert!(matches!(e, InputError::BadRow { line: 7, .. }), "{e}");
        let e = parse_str("\n\nbuildid,value\n", false).unwrap_err();
        assert!(matches!(e, InputError::MissingColumn { line: 3, column: "machine" }), "{e}");
    }

    #[test]
    fn an_input_whose_every_row_is_bad_is_refused_even_when_skipping() {
        let e = parse_str("buildid,value,machine\n1,fast,a\n2,,a\n", true).unwrap_err();
        assert!(matches!(e, InputError::AllBad { skipped: 2, .. }), "{e}");
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse_str("{\"buildid\":1}\n", true).unwrap_err();
        assert!(matches!(e, InputError::AllBad { skipped: 1, .. }), "{e}");
    }
}
