//! The curl-like `-F` syntax, parsed into parts without touching any file, so
//! that bad arguments are reported before anything is opened or sent.
//!
//! Accepted forms (the subset of curl's `-F` that a form upload needs):
//! - `name=value` and `name=value;type=TYPE` (a text field),
//! - `name="quoted;value"` (a text field whose value may hold `;`),
//! - `name=@PATH[;type=TYPE][;filename=NAME]` (a file part, streamed),
//! - `name=@-` (standard input, spooled first so its length is known),
//! - `name=<PATH[;type=TYPE]` (a text field whose value is read from a file).
//!
//! A quoted PATH, TYPE or NAME starts and ends with `"`, and inside it `\"` and
//! `\\` stand for `"` and `\` (as curl reads them).

use std::path::PathBuf;

use super::UploadError;

/// Where a part's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The bytes given on the command line.
    Text(Vec<u8>),
    /// A file on disk.
    Path(PathBuf),
    /// Standard input (the `-` of `@-` / `<-`).
    Stdin,
}

/// One `-F` argument, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormSpec {
    /// The form field name, as given (encoded later, when the header is built).
    pub name: String,
    pub source: Source,
    /// `true` for `@`: a file part with a `filename=` in its header.
    pub is_file: bool,
    /// `;type=`, if given.
    pub content_type: Option<String>,
    /// `;filename=`, if given (files only).
    pub filename: Option<String>,
}

/// Parse one `-F` argument.
pub fn parse_form(spec: &str) -> Result<FormSpec, UploadError> {
    let bad = |reason: &str| UploadError::FormSyntax { spec: spec.to_owned(), reason: reason.to_owned() };
    let Some((name, rest)) = spec.split_once('=') else {
        return Err(bad("expected NAME=VALUE, NAME=@FILE or NAME=<FILE"));
    };
    if name.is_empty() {
        return Err(bad("the field name is empty"));
    }
    let name = name.to_owned();
    if let Some(after) = rest.strip_prefix('@').or_else(|| rest.strip_prefix('<')) {
        let is_file = rest.starts_with('@');
        let (path, params) = word(after).map_err(|r| bad(&r))?;
        if path.is_empty() {
            return Err(bad("the file name after @ or < is empty"));
        }
        let (content_type, filename) = params_of(params).map_err(|r| bad(&r))?;
        if !is_file && filename.is_some() {
            return Err(bad("filename= needs a file part (@FILE), not <FILE"));
        }
        let source = if path == "-" { Source::Stdin } else { Source::Path(PathBuf::from(path)) };
        return Ok(FormSpec { name, source, is_file, content_type, filename });
    }
    // A text value: quoted (then parameters may follow), or taken literally up
    // to a `;type=` (curl's rule, so that `a;b` stays one value).
    let (value, content_type) = if rest.starts_with('"') {
        let (value, params) = word(rest).map_err(|r| bad(&r))?;
        let (content_type, filename) = params_of(params).map_err(|r| bad(&r))?;
        if filename.is_some() {
            return Err(bad("filename= needs a file part (@FILE)"));
        }
        (value, content_type)
    } else if let Some(at) = rest.rfind(";type=") {
        let (value, ty) = rest.split_at(at);
        let ty = ty.get(";type=".len()..).unwrap_or_default();
        (value.to_owned(), Some(ty.to_owned()))
    } else {
        (rest.to_owned(), None)
    };
    if let Some(ty) = &content_type {
        check_type(ty).map_err(|r| bad(&r))?;
    }
    Ok(FormSpec { name, source: Source::Text(value.into_bytes()), is_file: false, content_type, filename: None })
}

/// Read one word: a quoted string, or everything up to the next `;`. Returns
/// the word and the rest (which starts with `;` or is empty).
fn word(s: &str) -> Result<(String, &str), String> {
    if let Some(inner) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = inner.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => out.push(e),
                    Some((_, e)) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => return Err("unterminated quoted string".into()),
                },
                '"' => {
                    let rest = inner.get(i.saturating_add(1)..).unwrap_or_default();
                    if !(rest.is_empty() || rest.starts_with(';')) {
                        return Err(format!("unexpected text after a quoted string: {rest:?}"));
                    }
                    return Ok((out, rest));
                }
                c => out.push(c),
            }
        }
        Err("unterminated quoted string".into())
    } else {
        match s.find(';') {
            Some(at) => Ok((s.get(..at).unwrap_or_default().to_owned(), s.get(at..).unwrap_or_default())),
            None => Ok((s.to_owned(), "")),
        }
    }
}

/// Read `;type=..;filename=..` parameters.
fn params_of(mut rest: &str) -> Result<(Option<String>, Option<String>), String> {
    let (mut content_type, mut filename) = (None, None);
    while let Some(after) = rest.strip_prefix(';') {
        let Some((key, value)) = after.split_once('=') else {
            return Err(format!("expected ;type=TYPE or ;filename=NAME, found {rest:?}"));
        };
        let (value, next) = word(value)?;
        match key.trim() {
            "type" => {
                check_type(&value)?;
                content_type = Some(value);
            }
            "filename" => filename = Some(value),
            other => return Err(format!("unknown parameter {other:?} (known: type, filename)")),
        }
        rest = next;
    }
    Ok((content_type, filename))
}

/// A content type goes into a header verbatim: it must be one line of
/// visible text shaped like `type/subtype`.
fn check_type(ty: &str) -> Result<(), String> {
    let ok = ty.contains('/') && ty.bytes().all(|b| (0x20..0x7f).contains(&b)) && !ty.starts_with('/');
    if ok {
        Ok(())
    } else {
        Err(format!("bad content type {ty:?} (expected TYPE/SUBTYPE in printable ASCII)"))
    }
}

/// A `-H 'Name: value'` argument, checked so that it cannot break the request.
pub fn parse_header(spec: &str) -> Result<(String, String), UploadError> {
    let bad = |reason: &str| UploadError::HeaderSyntax { header: spec.to_owned(), reason: reason.to_owned() };
    let Some((name, value)) = spec.split_once(':') else {
        return Err(bad("expected 'Name: value'"));
    };
    let name = name.trim();
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(bad("the header name must be a non-empty token"));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(bad("the value must not hold CR, LF or NUL"));
    }
    for owned in ["content-length", "transfer-encoding", "content-type", "host"] {
        if name.eq_ignore_ascii_case(owned) {
            return Err(bad("this header is set by the upload itself"));
        }
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str, v: &str, ty: Option<&str>) -> FormSpec {
        FormSpec {
            name: name.into(),
            source: Source::Text(v.as_bytes().to_vec()),
            is_file: false,
            content_type: ty.map(Into::into),
            filename: None,
        }
    }

    #[test]
    fn plain_value_keeps_semicolons() {
        assert_eq!(parse_form("a=x;y").unwrap(), text("a", "x;y", None));
        assert_eq!(parse_form("a=").unwrap(), text("a", "", None));
        assert_eq!(parse_form("a=b=c").unwrap(), text("a", "b=c", None));
    }

    #[test]
    fn value_type_is_split_off() {
        assert_eq!(parse_form("a=x;type=text/x").unwrap(), text("a", "x", Some("text/x")));
        assert_eq!(parse_form(r#"a="x;y\"z";type=text/x"#).unwrap(), text("a", "x;y\"z", Some("text/x")));
    }

    #[test]
    fn file_with_type_and_filename() {
        let f = parse_form("f=@/tmp/a b.jpg;type=image/jpeg;filename=x.jpg").unwrap();
        assert_eq!(f.source, Source::Path("/tmp/a b.jpg".into()));
        assert!(f.is_file);
        assert_eq!(f.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(f.filename.as_deref(), Some("x.jpg"));
    }

    #[test]
    fn quoted_path_and_filename_may_hold_semicolons_and_quotes() {
        let f = parse_form(r#"f=@"a;b";filename="say \"hi\"; ok""#).unwrap();
        assert_eq!(f.source, Source::Path("a;b".into()));
        assert_eq!(f.filename.as_deref(), Some("say \"hi\"; ok"));
    }

    #[test]
    fn dash_is_stdin() {
        assert_eq!(parse_form("f=@-").unwrap().source, Source::Stdin);
        let lt = parse_form("f=<-").unwrap();
        assert_eq!(lt.source, Source::Stdin);
        assert!(!lt.is_file);
    }

    #[test]
    fn bad_specs_are_refused() {
        for bad in [
            "novalue",
            "=x",
            "f=@",
            "f=@a;color=red",
            "f=@a;type=bad",
            "f=@\"open",
            "f=@\"a\"b",
            "f=<a;filename=x",
            "f=x;type=a/b\nc",
            "f=@a;type",
        ] {
            assert!(parse_form(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn headers_cannot_smuggle_lines_or_override_framing() {
        assert_eq!(parse_header("X-Token:  abc ").unwrap(), ("X-Token".into(), "abc".into()));
        assert!(parse_header("X-Token: a\r\nEvil: 1").is_err());
        assert!(parse_header("Content-Length: 5").is_err());
        assert!(parse_header("transfer-encoding: chunked").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        assert!(parse_header("nocolon").is_err());
    }
}
