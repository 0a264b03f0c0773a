//! Running `hg` and `git` with argument vectors (never a shell) and turning
//! their exit status into typed errors that quote what the tool said.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{Error, Result};

/// One VCS program, run in one directory with a fixed environment.
#[derive(Debug, Clone)]
pub(crate) struct Tool<'a> {
    program: &'static str,
    cwd: &'a Path,
}

/// What a run gave back: the exit code (None when killed by a signal).
pub(crate) struct Ran {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub command: String,
}

impl<'a> Tool<'a> {
    pub fn hg(cwd: &'a Path) -> Self {
        Tool { program: "hg", cwd }
    }

    pub fn git(cwd: &'a Path) -> Self {
        Tool { program: "git", cwd }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(self.program);
        cmd.current_dir(self.cwd).stdin(Stdio::null());
        if self.program == "hg" {
            // HGPLAIN keeps aliases, [defaults], colour, localisation and
            // verbosity out of the output; HGPLAINEXCEPT would let some back.
            cmd.env("HGPLAIN", "1").env_remove("HGPLAINEXCEPT");
        } else {
            // Nothing interactive and no pager, whatever the user's config.
            cmd.env("GIT_PAGER", "cat").env("GIT_TERMINAL_PROMPT", "0");
        }
        cmd
    }

    /// Run and return whatever happened; the caller decides what an exit code means.
    pub fn run<I, S>(&self, args: I) -> Result<Ran>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let command = describe(self.program, &args);
        let Output { status, stdout, stderr } = self
            .command()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| Error::Spawn { program: self.program, source })?;
        Ok(Ran { code: status.code(), stdout, stderr, command })
    }

    /// Run and require success; the stdout bytes come back untouched.
    pub fn stdout<I, S>(&self, args: I) -> Result<Vec<u8>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let ran = self.run(args)?;
        if ran.code == Some(0) {
            Ok(ran.stdout)
        } else {
            Err(ran.failure())
        }
    }

    /// Run, require success, and give the first line of stdout as text.
    pub fn line<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let ran = self.run(args)?;
        if ran.code != Some(0) {
            return Err(ran.failure());
        }
        ran.first_line()
    }

    /// Run; exit status 1 means "not there" (`hg config`, `git config --get`,
    /// `git symbolic-ref -q`, `hg paths NAME`), anything else non-zero fails.
    pub fn optional_line<I, S>(&self, args: I) -> Result<Option<String>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let ran = self.run(args)?;
        match ran.code {
            Some(0) => {
                let line = ran.first_line()?;
                Ok(if line.is_empty() { None } else { Some(line) })
            }
            Some(1) => Ok(None),
            _ => Err(ran.failure()),
        }
    }
}

impl Ran {
    pub fn first_line(&self) -> Result<String> {
        let text = std::str::from_utf8(&self.stdout)
            .map_err(|_| Error::NotUtf8 { command: self.command.clone(), what: "line" })?;
        Ok(text.lines().next().unwrap_or("").trim_end_matches('\r').to_owned())
    }

    /// The error for a failed run: the tool's own first words, which name the
    /// problem better than anything we could add.
    pub fn failure(&self) -> Error {
        let status = match self.code {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".to_owned(),
        };
        Error::ToolFailed { command: self.command.clone(), status, message: message(&self.stderr, &self.stdout) }
    }
}

/// The first non-empty line of stderr (else of stdout), for the error message.
fn message(stderr: &[u8], stdout: &[u8]) -> String {
    let pick =
        |bytes: &[u8]| String::from_utf8_lossy(bytes).lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned);
    pick(stderr).or_else(|| pick(stdout)).unwrap_or_else(|| "no message".to_owned())
}

/// `hg qdiff --git` as a person would type it, for messages only.
fn describe(program: &str, args: &[OsString]) -> String {
    let mut s = program.to_owned();
    for a in args {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_message_prefers_stderr_first_nonblank_line() {
        assert_eq!(message(b"\n  abort: no repository\nmore\n", b"out"), "abort: no repository");
        assert_eq!(message(b"", b"no patches applied\n"), "no patches applied");
        assert_eq!(message(b"", b""), "no message");
    }

    #[test]
    fn missing_program_is_a_spawn_error_naming_it() {
        let t = Tool { program: "kexec-chooser-no-such-vcs", cwd: Path::new("/") };
        match t.run(["x"]) {
            Err(Error::Spawn { program, .. }) => assert_eq!(program, "kexec-chooser-no-such-vcs"),
            other => panic!("expected a spawn error, got {:?}", other.map(|r| r.code)),
        }
    }
}
