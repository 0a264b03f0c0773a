//! The kernel command line for the next boot: where it comes from, and the
//! edits `--append`, `--remove` and `--cmdline` make to it.
//!
//! Words are split as the kernel splits them (`lib/cmdline.c`, `next_arg`):
//! at spaces, except inside double quotes, so `key="a b"` stays one word.

/// The most read of a command-line file (`/proc/cmdline`,
/// `/etc/kernel/cmdline`): far more than any kernel's `COMMAND_LINE_SIZE`.
pub const FILE_MAX: u64 = 64 * 1024;

/// Whether the kernel takes `c` as a space between words (lib/ctype.c: its
/// `isspace` is C's, plus byte 0xA0, which only occurs inside a UTF-8
/// character here and is left to [`kernel_view`]).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Split a command line into words as the kernel does (lib/cmdline.c,
/// `next_arg`): at spaces outside double quotes, where every `"` opens or
/// closes a quote. Quotes are kept as written; an unbalanced one makes the
/// rest of the line one word, as it does for the kernel.
pub fn split(cmdline: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in cmdline.chars() {
        if c == '"' {
            quoted = !quoted;
            cur.push(c);
        } else if is_space(c) && !quoted {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// The word that ends the kernel's parameters: what follows goes to init
/// (init/main.c; kernel/params.c, `parse_args`, stops at a bare `--`).
pub const INIT_SEPARATOR: &str = "--";

/// Whether `text` holds a `"` that nothing closes: the kernel would read the
/// rest of any line it is part of, safety-net words included, as one value.
pub fn unbalanced_quote(text: &str) -> bool {
    text.bytes().filter(|&b| b == b'"').count() % 2 == 1
}

/// The key of a word: what stands before `=`, or the whole word.
pub fn key(word: &str) -> &str {
    word.split_once('=').map_or(word, |(k, _)| k)
}

/// A parameter name as the kernel compares it: `-` and `_` are the same
/// (kernel/params.c, `parameq`), and quotes around a word do not count.
fn same_key(a: &str, b: &str) -> bool {
    let norm = |k: &str| k.trim_matches('"').replace('-', "_");
    norm(a) == norm(b)
}

/// A command line divided as the kernel divides it: its own words, then,
/// after a bare `--`, the words it hands to init.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Line {
    kernel: Vec<String>,
    /// `None` without a `--`; `Some` (maybe empty) with one.
    init: Option<Vec<String>>,
}

impl Line {
    fn parse(text: &str) -> Line {
        let mut line = Line::default();
        for w in split(text) {
            match &mut line.init {
                Some(init) => init.push(w),
                None if w == INIT_SEPARATOR => line.init = Some(Vec::new()),
                None => line.kernel.push(w),
            }
        }
        line
    }

    fn join(&self) -> String {
        let mut words = self.kernel.clone();
        if let Some(init) = &self.init {
            words.push(INIT_SEPARATOR.to_string());
            words.extend(init.iter().cloned());
        }
        words.join(" ")
    }

    /// Add a kernel word: a `key=value` replaces every earlier word of its
    /// key, a bare word is not repeated.
    fn add_kernel_word(&mut self, w: String) {
        if w.contains('=') {
            let k = key(&w).to_owned();
            self.kernel.retain(|x| !same_key(key(x), &k));
        } else if self.kernel.contains(&w) {
            return;
        }
        self.kernel.push(w);
    }
}

/// `/proc/cmdline` as a base for the next kernel: without the words the boot
/// loader adds for this boot only (`BOOT_IMAGE=`, `initrd=`).
pub fn from_proc(proc_cmdline: &str) -> String {
    split(proc_cmdline).into_iter().filter(|w| !matches!(key(w), "BOOT_IMAGE" | "initrd")).collect::<Vec<_>>().join(" ")
}

/// `/etc/kernel/cmdline` may span lines and carry `#` comments.
pub fn from_etc(text: &str) -> String {
    let joined: Vec<&str> = text.lines().map(|l| l.trim()).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    split(&joined.join(" ")).join(" ")
}

/// Apply the edits: `replace` (`--cmdline`) first, then every `--remove KEY`,
/// then every `--append ARGS`, where a `key=value` word replaces all earlier
/// words of the same key (`-` and `_` alike, as the kernel compares them)
/// and a bare word is not repeated. Appended words go to the kernel, before
/// a `--` already there; what an `--append` itself puts after its own `--`
/// goes to init.
pub fn edit(base: &str, replace: Option<&str>, remove: &[String], append: &[String]) -> String {
    let mut line = Line::parse(replace.unwrap_or(base));
    let removed: Vec<&str> = remove.iter().flat_map(|r| r.split_whitespace()).map(key).collect();
    let keep = |w: &String| !removed.iter().any(|r| same_key(key(w), r));
    line.kernel.retain(keep);
    if let Some(init) = &mut line.init {
        init.retain(keep);
    }
    for a in append {
        let added = Line::parse(a);
        for w in added.kernel {
            line.add_kernel_word(w);
        }
        if let Some(words) = added.init {
            line.init.get_or_insert_with(Vec::new).extend(words);
        }
    }
    line.join()
}

/// One parameter as the kernel reads it: its name, and its value without
/// the quotes the kernel strips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: Option<String>,
}

/// What the kernel makes of a command line: its parameters in order, and
/// the words after a bare `--`, which go to init.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelView {
    pub params: Vec<Param>,
    pub init: Vec<String>,
}

impl KernelView {
    /// The value the kernel ends up with for `name`: the last one given.
    pub fn last(&self, name: &str) -> Option<&Param> {
        self.params.iter().rev().find(|p| same_key(&p.name, name))
    }
}

/// The kernel's own reading of `line`, byte for byte as `next_arg`
/// (lib/cmdline.c) and `parse_args` (kernel/params.c) read it: its space
/// set (0xA0 included), a word that starts with `"` and the value's quotes
/// stripped, an unclosed quote running to the end, a bare `--` ending the
/// parameters. Used to check the line handed to the kernel, not to edit it.
pub fn kernel_view(line: &str) -> KernelView {
    let b = line.as_bytes();
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0);
    let text = |r: std::ops::Range<usize>| String::from_utf8_lossy(b.get(r).unwrap_or(&[])).into_owned();
    let mut view = KernelView::default();
    let mut i = 0;
    while b.get(i).is_some_and(|&c| space(c)) {
        i += 1;
    }
    while i < b.len() {
        let mut in_quote = false;
        let mut quoted = false;
        if b.get(i) == Some(&b'"') {
            i += 1;
            in_quote = true;
            quoted = true;
        }
        let start = i;
        let mut equals = None;
        while let Some(&c) = b.get(i) {
            if space(c) && !in_quote {
                break;
            }
            if equals.is_none() && c == b'=' {
                equals = Some(i);
            }
            if c == b'"' {
                in_quote = !in_quote;
            }
            i += 1;
        }
        let end = i;
        let ends_in_quote = end > start && b.get(end - 1) == Some(&b'"');
        let param = match equals {
            None => Param { name: text(start..end), value: None },
            Some(eq) => {
                let mut from = eq + 1;
                let mut to = end;
                if b.get(from) == Some(&b'"') {
                    from += 1;
                    if ends_in_quote {
                        to = end - 1;
                    }
                }
                if quoted && ends_in_quote {
                    to = end - 1;
                }
                Param { name: text(start..eq), value: Some(text(from..to.max(from))) }
            }
        };
        i = end.saturating_add(1).min(b.len());
        while b.get(i).is_some_and(|&c| space(c)) {
            i += 1;
        }
        if param.value.is_none() && param.name == INIT_SEPARATOR {
            view.init = split(&text(i..b.len()));
            break;
        }
        view.params.push(param);
    }
    view
}

/// The first of `words` (each `name=value`, as the safety net writes them)
/// that the kernel would not take from `line` as written: missing, after a
/// `--`, swallowed by an open quote, or overridden by a later word of the
/// same name.
pub fn hidden<'a>(line: &str, words: &'a [String]) -> Option<&'a str> {
    let view = kernel_view(line);
    words.iter().map(String::as_str).find(|w| {
        let (name, value) = w.split_once('=').unwrap_or((w, ""));
        view.last(name).and_then(|p| p.value.as_deref()) != Some(value)
    })
}

/// Whether the command line boots to a shell or to single-user, rescue or
/// emergency mode instead of the system: such an entry is taken only when
/// named by its id. Read as the kernel reads it (words after `--` go to init
/// as its arguments):
///
/// * the bare words systemd (kernel-command-line(7)) and sysvinit take for
///   it: `single`, `s`, `S`, `1`, `-s`, `rescue`, `emergency`, `-b`;
/// * `systemd.unit=` / `rd.systemd.unit=` naming `rescue.target`,
///   `emergency.target` or `runlevel1.target` (systemd's alias of rescue);
/// * dracut's `rd.rescue`, `rd.emergency`, `rd.break[=HOOK]` and `rd.shell`
///   (a shell in the initramfs; `rd.shell=0` is not);
/// * `init=` or `rdinit=` naming a shell (`/bin/sh`, `/bin/bash`, busybox, …).
pub fn asks_for_rescue(cmdline: &str) -> bool {
    let view = kernel_view(cmdline);
    view.params.iter().any(rescue_param) || view.init.iter().any(|w| rescue_word(w))
}

fn rescue_word(w: &str) -> bool {
    matches!(w, "single" | "s" | "S" | "1" | "-s" | "rescue" | "emergency" | "-b")
}

fn rescue_param(p: &Param) -> bool {
    let Some(value) = p.value.as_deref() else {
        return rescue_word(&p.name)
            || matches!(p.name.as_str(), "rd.rescue" | "rd.emergency" | "rd.break" | "rd.shell");
    };
    let is = |name: &str| same_key(&p.name, name);
    if is("systemd.unit") || is("rd.systemd.unit") {
        return matches!(value.strip_suffix(".target").unwrap_or(value), "rescue" | "emergency" | "runlevel1");
    }
    if is("rd.break") {
        return true;
    }
    if is("rd.shell") {
        return !matches!(value, "0" | "no" | "false" | "off");
    }
    if is("init") || is("rdinit") {
        let program = value.rsplit('/').next().unwrap_or(value);
        return matches!(
            program,
            "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh" | "mksh" | "busybox" | "fish" | "tcsh" | "csh"
        );
    }
    false
}

/// Whether the command line names a root filesystem for the kernel.
pub fn has_root(cmdline: &str) -> bool {
    kernel_view(cmdline).params.iter().any(|p| p.name == "root" && p.value.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn quoted_values_stay_one_word() {
        assert_eq!(split(r#"a b="c d"  e"#), s(&["a", r#"b="c d""#, "e"]));
    }

    #[test]
    fn proc_cmdline_loses_boot_image_and_initrd() {
        let p = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64 root=UUID=x ro initrd=\\initrd quiet\n";
        assert_eq!(from_proc(p), "root=UUID=x ro quiet");
    }

    #[test]
    fn etc_kernel_cmdline_skips_comments() {
        assert_eq!(from_etc("# comment\nroot=/dev/sda1 ro\n  quiet\n"), "root=/dev/sda1 ro quiet");
    }

    #[test]
    fn later_key_value_replaces_earlier() {
        let got = edit("root=/dev/sda1 console=tty0 quiet", None, &[], &s(&["console=ttyS0 quiet", "x=1 x=2"]));
        assert_eq!(got, "root=/dev/sda1 quiet console=ttyS0 x=2");
    }

    #[test]
    fn remove_drops_every_word_of_the_key() {
        let got = edit("root=/dev/sda1 quiet splash console=a console=b", None, &s(&["console", "splash"]), &[]);
        assert_eq!(got, "root=/dev/sda1 quiet");
    }

    #[test]
    fn cmdline_replaces_everything_then_append_applies() {
        let got = edit("root=/dev/sda1 quiet", Some("root=/dev/vda"), &[], &s(&["MARKER"]));
        assert_eq!(got, "root=/dev/vda MARKER");
    }

    #[test]
    fn rescue_single_user_and_emergency_are_told_apart_from_normal_boots() {
        for rescue in [
            "root=/dev/vda ro single",
            "S",
            "ro 1 quiet",
            "-s",
            "rescue",
            "emergency",
            "-b",
            "rd.emergency",
            "systemd.unit=rescue.target",
            "systemd.unit=emergency.target",
            "rd.systemd.unit=emergency.target",
            "systemd.unit=\"rescue.target\"",
            "systemd.unit=runlevel1.target",
            "rd.systemd.unit=runlevel1.target",
            "rd.break",
            "rd.break=pre-mount",
            "rd.shell",
            "rd.shell=1",
            "init=/bin/sh",
            "init=/bin/bash",
            "rdinit=/bin/busybox",
            "root=/dev/vda ro -- single",
        ] {
            assert!(asks_for_rescue(rescue), "{rescue}");
        }
        for normal in [
            "root=/dev/vda ro quiet",
            "",
            "3",
            "singleuser",
            "systemd.unit=graphical.target",
            "x=single",
            "S1",
            "rd.shell=0",
            "init=/lib/systemd/systemd",
            "init=/sbin/init",
            "systemd.unit=runlevel3.target",
            "x=\"a -- single\"",
        ] {
            assert!(!asks_for_rescue(normal), "{normal}");
        }
    }

    #[test]
    fn root_is_found_only_as_a_key() {
        assert!(has_root("ro root=/dev/vda quiet"));
        assert!(!has_root("ro rootwait quiet"));
        assert!(!has_root("ro -- root=/dev/vda"), "after -- it is init's");
    }

    #[test]
    fn the_kernel_view_follows_next_arg() {
        let v = kernel_view("  a=1 \"b=2 3\" c=\"x y\" d e.f=\" -- init x=y");
        let p = |n: &str, v: Option<&str>| Param { name: n.into(), value: v.map(Into::into) };
        assert_eq!(
            v.params,
            [p("a", Some("1")), p("b", Some("2 3")), p("c", Some("x y")), p("d", None), p("e.f", Some(" -- init x=y"))]
                .to_vec()
        );
        assert!(v.init.is_empty(), "e.f=\" swallowed the rest: {v:?}");
        let v = kernel_view("a b=1 -- single x=y");
        assert_eq!(v.params.len(), 2);
        assert_eq!(v.init, ["single", "x=y"]);
        // A quoted "--" still ends the parameters; a bare word in quotes keeps its closing quote.
        assert_eq!(kernel_view("a \"--\" b").params, [p("a", None), p("--\"", None), p("b", None)].to_vec());
        // 0xA0 is a space to the kernel, even inside a UTF-8 character.
        assert_eq!(kernel_view("a=\u{a0}b").params.len(), 2);
        assert_eq!(kernel_view("").params, []);
        assert_eq!(kernel_view("x=\"").params, [p("x", Some(""))].to_vec());
    }

    #[test]
    fn an_open_quote_hides_every_later_word() {
        let words = s(&["kexec_chooser.boot=ab", "watchdog.handle_boot_enabled=0"]);
        assert_eq!(hidden("root=/dev/vda kexec_chooser.boot=ab watchdog.handle_boot_enabled=0", &words), None);
        let line = "root=/dev/vda foo=\"bar kexec_chooser.boot=ab watchdog.handle_boot_enabled=0";
        assert_eq!(hidden(line, &words), Some("kexec_chooser.boot=ab"));
        assert_eq!(hidden("root=/dev/vda -- kexec_chooser.boot=ab", &words[..1]), Some("kexec_chooser.boot=ab"));
        // A later word of the same name, spelled with `-`, wins in the kernel.
        let line = "kexec_chooser.boot=ab watchdog.handle_boot_enabled=0 watchdog.handle-boot-enabled=1";
        assert_eq!(hidden(line, &words), Some("watchdog.handle_boot_enabled=0"));
        assert!(unbalanced_quote("foo=\"bar") && !unbalanced_quote("a=\"b c\""));
    }

    #[test]
    fn appended_words_go_before_the_init_arguments() {
        assert_eq!(edit("root=/dev/vda -- single", None, &[], &s(&["quiet"])), "root=/dev/vda quiet -- single");
        assert_eq!(edit("root=/dev/vda", None, &[], &s(&["-- single"])), "root=/dev/vda -- single");
        assert_eq!(edit("root=/dev/vda", None, &[], &s(&["-- single", "x=1"])), "root=/dev/vda x=1 -- single");
        assert_eq!(edit("a -- b", None, &[], &s(&["-- c"])), "a -- b c");
        assert_eq!(edit("a=1 b -- c", None, &s(&["a"]), &[]), "b -- c");
        // `-` and `_` are one to the kernel: the later word replaces the earlier.
        assert_eq!(edit("x-y=1", None, &[], &s(&["x_y=2"])), "x_y=2");
    }
}
