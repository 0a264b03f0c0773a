//! The kernel command line for the next boot: where it comes from, and the
//! edits `--append`, `--remove` and `--cmdline` make to it.
//!
//! Words are split as the kernel splits them (`lib/cmdline.c`, `next_arg`):
//! at spaces, except inside double quotes, so `key="a b"` stays one word.

/// The most read of a command-line file (`/proc/cmdline`,
/// `/etc/kernel/cmdline`): far more than any kernel's `COMMAND_LINE_SIZE`.
pub const FILE_MAX: u64 = 64 * 1024;

/// Split a command line into words, keeping quotes as written.
pub fn split(cmdline: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in cmdline.chars() {
        if c == '"' {
            quoted = !quoted;
            cur.push(c);
        } else if c.is_whitespace() && !quoted {
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

/// The key of a word: what stands before `=`, or the whole word.
pub fn key(word: &str) -> &str {
    word.split_once('=').map_or(word, |(k, _)| k)
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
/// words of the same key and a bare word is not repeated.
pub fn edit(base: &str, replace: Option<&str>, remove: &[String], append: &[String]) -> String {
    let mut words = split(replace.unwrap_or(base));
    let removed: Vec<&str> = remove.iter().flat_map(|r| r.split_whitespace()).map(key).collect();
    words.retain(|w| !removed.contains(&key(w)));
    for a in append {
        for w in split(a) {
            if w.contains('=') {
                let k = key(&w).to_owned();
                words.retain(|x| key(x) != k);
            } else if words.contains(&w) {
                continue;
            }
            words.push(w);
        }
    }
    words.join(" ")
}

/// Whether the command line asks init for single-user, rescue or emergency
/// mode: the bare words systemd (kernel-command-line(7)) and sysvinit take
/// for it (`single`, `s`, `S`, `1`, `-s`, `rescue`, `emergency`, `-b`, and
/// dracut's `rd.rescue`, `rd.emergency`), or `systemd.unit=` /
/// `rd.systemd.unit=` naming the rescue or emergency target.
pub fn asks_for_rescue(cmdline: &str) -> bool {
    split(cmdline).iter().any(|w| {
        let w = w.trim_matches('"');
        match w.split_once('=') {
            None => matches!(
                w,
                "single" | "s" | "S" | "1" | "-s" | "rescue" | "emergency" | "-b" | "rd.rescue" | "rd.emergency"
            ),
            Some(("systemd.unit" | "rd.systemd.unit", unit)) => {
                let unit = unit.trim_matches('"');
                matches!(unit.strip_suffix(".target").unwrap_or(unit), "rescue" | "emergency")
            }
            Some(_) => false,
        }
    })
}

/// Whether the command line names a root filesystem.
pub fn has_root(cmdline: &str) -> bool {
    split(cmdline).iter().any(|w| key(w) == "root")
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
        ] {
            assert!(asks_for_rescue(rescue), "{rescue}");
        }
        for normal in
            ["root=/dev/vda ro quiet", "", "3", "singleuser", "systemd.unit=graphical.target", "x=single", "S1"]
        {
            assert!(!asks_for_rescue(normal), "{normal}");
        }
    }

    #[test]
    fn root_is_found_only_as_a_key() {
        assert!(has_root("ro root=/dev/vda quiet"));
        assert!(!has_root("ro rootwait quiet"));
    }
}
