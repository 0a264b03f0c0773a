//! Glue of `kexec-chooser upload`: streaming multipart uploads. Parses the
//! curl-like arguments, opens the parts (so a missing file stops everything
//! before a connection is made), sends, and turns the answer into an exit code.

use std::cell::RefCell;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{Ctx, ExitError};
use crate::atomic_file::AtomicFile;
use crate::disk::threshold::{Limit, LimitError};
use crate::text;
use crate::upload::http::{self, Method};
use crate::upload::multipart::{self, Body, Spool};
use crate::upload::progress::Progress;
use crate::upload::{form, UploadError};

/// Exit codes of `upload`. When nothing or not all was sent (a file, the
/// connection, TLS, a stall), the error is the program's, exit 1.
pub mod exit {
    /// The server answered 2xx.
    pub const OK: u8 = 0;
    /// Bad arguments (`-F`, `-H`, the URL).
    pub const USAGE: u8 = 2;
    /// The server answered, but not with 2xx.
    pub const HTTP_STATUS: u8 = 3;
}

/// Bodies of failed answers up to this size are shown on stderr.
const SHORT_BODY: usize = 4096;

const AFTER_HELP: &str = "\
-F forms (as curl's):
  NAME=VALUE                      a text field (NAME=\"a;b\" to keep a semicolon)
  NAME=@FILE[;type=T][;filename=N] a file, streamed; type guessed from the name
  NAME=@-                         standard input, spooled to $TMPDIR first
                                  (as is any FILE that is not a regular file or
                                  a block device; at most --spool-limit bytes)
  NAME=<FILE                      a text field whose value is the file's content

Environment:
  https_proxy, HTTPS_PROXY, http_proxy, all_proxy, ALL_PROXY   the proxy
  no_proxy, NO_PROXY              hosts reached directly (comma-separated)
  SSL_CERT_FILE                   CA bundle instead of /etc/ssl/certs/ca-certificates.crt
  TMPDIR                          where standard input is spooled

Exit status:
  0  the server answered 2xx (its body is on stdout or in --output)
  1  the upload failed: a file, the connection, TLS, a timeout
  2  bad usage
  3  the server answered with another status (shown on stderr with a short body)";

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MethodArg {
    #[value(name = "POST", alias = "post")]
    Post,
    #[value(name = "PUT", alias = "put")]
    Put,
}

/// Arguments of `upload`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct UploadArgs {
    /// The form endpoint: http://... or https://...
    #[arg(value_name = "URL")]
    pub url: String,

    /// A form part, as curl's -F (see below); repeat for more parts.
    #[arg(short = 'F', long = "form", value_name = "NAME=CONTENT", required = true, allow_hyphen_values = true)]
    pub form: Vec<String>,

    /// An extra request header, 'Name: value'; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub header: Vec<String>,

    /// The request method.
    #[arg(short = 'X', long, value_enum, default_value = "POST")]
    pub method: MethodArg,

    /// Write the answer's body to FILE instead of stdout (only on success).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Draw a progress bar on stderr even when it is not a terminal.
    #[arg(long, overrides_with = "no_progress")]
    pub progress: bool,

    /// Never draw a progress bar (the default when stderr is not a terminal).
    #[arg(long, overrides_with = "progress")]
    pub no_progress: bool,

    /// Do not verify the server's certificate (a warning says so).
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Trust the CA certificates of this PEM file instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Give up connecting after SECS seconds.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub connect_timeout: Duration,

    /// Give up when no byte moves for SECS seconds, either way.
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = parse_secs)]
    pub stall_timeout: Duration,

    /// The most standard input, a pipe or a device may hold when it is
    /// spooled to learn its length (512M, 4G; powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    pub spool_limit: u64,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("{s:?} is not between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_size(s: &str) -> Result<u64, String> {
    match Limit::parse_space(s) {
        Ok(Limit::Amount(n)) if n > 0 => Ok(n),
        Err(LimitError::TooLarge(_)) => Err(format!("{s:?} is too large")),
        _ => Err(format!("{s:?} is not a size above 0 (such as 512M or 4G)")),
    }
}

fn usage(err: UploadError) -> anyhow::Error {
    ExitError::new(exit::USAGE, err.to_string()).into()
}

pub fn run(_ctx: &Ctx, args: &UploadArgs) -> anyhow::Result<u8> {
    let url = url::Url::parse(&args.url)
        .map_err(|e| usage(UploadError::BadUrl { url: args.url.clone(), reason: e.to_string() }))?;
    let specs = args.form.iter().map(|f| form::parse_form(f)).collect::<Result<Vec<_>, _>>().map_err(usage)?;
    let headers = args.header.iter().map(|h| form::parse_header(h)).collect::<Result<Vec<_>, _>>().map_err(usage)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(usage(UploadError::BadUrl {
            url: args.url.clone(),
            reason: format!("scheme {:?} is not http or https", url.scheme()),
        }));
    }
    if args.insecure {
        crate::say!(io::stderr(), "warning: --insecure: the server's certificate is not verified")?;
    }

    let spool = Spool { dir: std::env::temp_dir(), limit: args.spool_limit };
    let parts = multipart::open_parts(specs, &mut io::stdin().lock(), &spool)?;
    let mut body = Body::new(parts, multipart::random_boundary)?;

    let show = args.progress || (!args.no_progress && io::stderr().is_terminal());
    // Both callbacks below draw on the one bar.
    let progress = RefCell::new(Progress::new(show, body.content_length()));
    let request = http::Request {
        url,
        method: match args.method {
            MethodArg::Post => Method::Post,
            MethodArg::Put => Method::Put,
        },
        headers,
        connect_timeout: args.connect_timeout,
        stall_timeout: args.stall_timeout,
        insecure: args.insecure,
        ca_bundle: args.cacert.clone(),
    };
    let env = |k: &str| std::env::var(k).ok();
    let answer = http::send(
        &request,
        &mut body,
        &env,
        &mut |hop| {
            if hop != &request.url {
                let _ = crate::say!(io::stderr(), "redirected, sending again to {}", text::escape(hop.as_str()));
            }
            progress.borrow_mut().restart();
        },
        &mut |sent| progress.borrow_mut().update(sent),
    );
    progress.borrow_mut().finish();
    let mut answer = answer?;

    if (200..300).contains(&answer.status) {
        match &args.output {
            Some(path) => {
                // Written beside the target and renamed over it: a link at
                // the name is replaced, never followed, and a failed answer
                // leaves the old file as it was.
                let mut file = AtomicFile::create(path, created_mode())?;
                io::copy(&mut answer.body, &mut file).context("cannot read the answer")?;
                file.commit()?;
            }
            None => {
                // The context keeps the io::Error in the chain: a closed stdout still exits 0.
                let mut out = io::stdout().lock();
                io::copy(&mut answer.body, &mut out).context("cannot copy the answer to stdout")?;
                out.flush()?;
            }
        }
        return Ok(exit::OK);
    }

    // The status line, the Location and the body are the server's text:
    // shown escaped, so that it cannot drive the person's terminal.
    let mut stderr = io::stderr().lock();
    crate::say!(stderr, "the server answered {}", text::escape(&answer.status_line))?;
    if let (300..=399, Some(loc)) = (answer.status, &answer.location) {
        crate::say!(stderr, "not following the redirect to {}: only 307 and 308 keep the upload", text::escape(loc))?;
    }
    let mut short = Vec::new();
    let read = (&mut answer.body).take(SHORT_BODY as u64 + 1).read_to_end(&mut short);
    match (read, std::str::from_utf8(&short)) {
        (Ok(n), Ok(body)) if n <= SHORT_BODY => {
            for line in body.trim_end().lines() {
                writeln!(stderr, "{}", text::escape(line))?;
            }
        }
        (Ok(n), _) if n > SHORT_BODY => writeln!(stderr, "(a body of more than {SHORT_BODY} bytes, not shown)")?,
        _ => writeln!(stderr, "(a body that is not text, not shown)")?,
    }
    Ok(exit::HTTP_STATUS)
}

/// The mode a plain create would give the answer's file: 0666 less the
/// umask, as curl's `-o` does, so a careful umask keeps an answer private.
/// 0600 when the umask cannot be read (`/proc` not mounted).
fn created_mode() -> u32 {
    let status = std::fs::read_to_string(crate::paths::SELF_STATUS).unwrap_or_default();
    let umask =
        status.lines().find_map(|l| l.strip_prefix("Umask:")).and_then(|v| u32::from_str_radix(v.trim(), 8).ok());
    umask.map_or(0o600, |u| 0o666 & !u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_limits_parse_as_disk_sizes_do_and_must_be_above_zero() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert!(parse_size("0").is_err() && parse_size("10%").is_err() && parse_size("lots").is_err());
    }
}
