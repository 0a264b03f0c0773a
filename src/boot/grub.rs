//! The GRUB default: `grubenv` (`saved_entry`, `next_entry`) and the menu of
//! `grub.cfg` (`menuentry`, `submenu`, `set default=`), resolved to the
//! `linux` line of one menu entry. Pure over text; a tokenizer that follows
//! GRUB's shell-like quoting well enough for generated configs.

use std::collections::HashMap;

/// The most read of `grub.cfg`: a generated one is tens of KiB even with
/// many kernels and other systems found by os-prober.
pub const CFG_MAX: u64 = 4 << 20;

/// The most read of `grubenv`: GRUB's environment block is 1 KiB, padded
/// with `#` (grub-editenv's `DEFAULT_ENVBLK_SIZE`).
pub const ENV_MAX: u64 = 1024;

/// One item of a GRUB menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Entry(MenuEntry),
    Submenu { title: String, id: Option<String>, items: Vec<Item> },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MenuEntry {
    pub title: String,
    pub id: Option<String>,
    /// The path on the `linux` line, as GRUB sees it.
    pub linux: Option<String>,
    /// The words after it: the kernel's command line.
    pub args: Vec<String>,
    pub initrds: Vec<String>,
}

/// What `grub.cfg` says about the menu.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub items: Vec<Item>,
    /// The value of the last top-level `set default=` other than `${next_entry}`.
    pub default: Option<String>,
    /// It boots `next_entry` once (`set default="${next_entry}"`) and clears
    /// it from grubenv (`save_env next_entry`), as grub-mkconfig's 00_header
    /// writes it: what `grub-reboot` relies on.
    pub one_time_entry: bool,
}

/// The variables of `grubenv` ([`super::grubenv`]); none when it is not an
/// environment block, as GRUB's `load_env` would find none.
pub fn parse_env(bytes: &[u8]) -> HashMap<String, String> {
    super::grubenv::Env::parse(bytes).map(|e| e.vars().into_iter().collect()).unwrap_or_default()
}

/// Split a line into words with GRUB's quoting: `'...'` literal, `"..."` with
/// backslash escapes, backslash escapes outside quotes. Unbalanced quotes end
/// at the end of the line.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                in_word = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(e) = chars.next() {
                                cur.push(e);
                            }
                        }
                        _ => cur.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    cur.push(e);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Title and id of a `menuentry`/`submenu` line (words after the keyword).
fn title_and_id(args: &[String]) -> (String, Option<String>) {
    let mut title = None;
    let mut id = None;
    let mut i = 0;
    while let Some(w) = args.get(i) {
        if w == "$menuentry_id_option" || w == "--id" {
            id = args.get(i + 1).cloned();
            i += 2;
            continue;
        }
        if let Some(v) = w.strip_prefix("--id=") {
            id = Some(v.to_owned());
        } else if w == "{" {
            break;
        } else if w.starts_with("--") {
            // Options with a value: --class X, --users X, --hotkey X.
            if matches!(w.as_str(), "--class" | "--users" | "--hotkey") {
                i += 1;
            }
        } else if title.is_none() {
            title = Some(w.clone());
        }
        i += 1;
    }
    (title.unwrap_or_default(), id)
}

/// Parse `grub.cfg`.
pub fn parse_cfg(text: &str) -> Config {
    let mut cfg = Config::default();
    // A stack of open blocks: menus being filled, and the entry being read.
    let mut menus: Vec<(String, Option<String>, Vec<Item>)> = Vec::new();
    let mut entry: Option<MenuEntry> = None;
    // Depth of other `{ }` blocks (functions) and `if`/`fi` nesting is not
    // tracked: `set default` is taken wherever it is outside an entry.
    let mut other_depth = 0usize;
    let (mut boots_next_entry, mut clears_next_entry) = (false, false);
    for line in text.lines() {
        let w = words(line);
        let Some(first) = w.first() else { continue };
        match first.as_str() {
            "menuentry" if entry.is_none() => {
                let (title, id) = title_and_id(w.get(1..).unwrap_or(&[]));
                entry = Some(MenuEntry { title, id, ..MenuEntry::default() });
            }
            "submenu" if entry.is_none() => {
                let (title, id) = title_and_id(w.get(1..).unwrap_or(&[]));
                menus.push((title, id, Vec::new()));
            }
            "linux" | "linux16" | "linuxefi" => {
                if let Some(e) = entry.as_mut() {
                    e.linux = w.get(1).cloned();
                    e.args = w.get(2..).unwrap_or(&[]).to_vec();
                }
            }
            "initrd" | "initrd16" | "initrdefi" => {
                if let Some(e) = entry.as_mut() {
                    e.initrds = w.get(1..).unwrap_or(&[]).to_vec();
                }
            }
            "set" if entry.is_none() => {
                if let Some(v) = w.get(1).and_then(|a| a.strip_prefix("default=")) {
                    if v == "${next_entry}" || v == "$next_entry" {
                        boots_next_entry = true;
                    } else {
                        cfg.default = Some(v.to_owned());
                    }
                }
            }
            "save_env" if entry.is_none() && w.iter().skip(1).any(|v| v == "next_entry") => clears_next_entry = true,
            "function" => other_depth += 1,
            "}" => {
                if let Some(e) = entry.take() {
                    match menus.last_mut() {
                        Some(m) => m.2.push(Item::Entry(e)),
                        None => cfg.items.push(Item::Entry(e)),
                    }
                } else if other_depth > 0 {
                    other_depth -= 1;
                } else if let Some((title, id, items)) = menus.pop() {
                    let sub = Item::Submenu { title, id, items };
                    match menus.last_mut() {
                        Some(m) => m.2.push(sub),
                        None => cfg.items.push(sub),
                    }
                }
            }
            _ => {}
        }
    }
    cfg.one_time_entry = boots_next_entry && clears_next_entry;
    cfg
}

/// A menu entry and the path that names it for `grub-reboot`: each level's
/// id where it has one (its title where not), joined by `>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    pub path: String,
    pub entry: &'a MenuEntry,
}

/// Every menu entry with the path that names it, in menu order.
pub fn entries(items: &[Item]) -> Vec<Found<'_>> {
    fn walk<'a>(items: &'a [Item], prefix: &str, out: &mut Vec<Found<'a>>) {
        for it in items {
            let (title, id) = match it {
                Item::Entry(e) => (&e.title, &e.id),
                Item::Submenu { title, id, .. } => (title, id),
            };
            let name = id.as_deref().filter(|i| !i.is_empty()).unwrap_or(title);
            let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}>{name}") };
            match it {
                Item::Entry(entry) => out.push(Found { path, entry }),
                Item::Submenu { items, .. } => walk(items, &path, out),
            }
        }
    }
    let mut out = Vec::new();
    walk(items, "", &mut out);
    out
}

/// Why the default could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefaultError {
    #[error("GRUB default {0:?} names no menu entry")]
    NoSuchEntry(String),
    #[error("GRUB default {0:?} names a submenu, not an entry")]
    Submenu(String),
    #[error("GRUB default is empty")]
    Empty,
}

/// The value GRUB would use as default: `next_entry` from grubenv, else
/// `set default=` with `${saved_entry}` taken from grubenv, else `0`.
pub fn default_value(cfg: &Config, env: &HashMap<String, String>) -> String {
    if let Some(n) = env.get("next_entry").filter(|v| !v.is_empty()) {
        return n.clone();
    }
    match cfg.default.as_deref() {
        Some("${saved_entry}") | Some("$saved_entry") => {
            env.get("saved_entry").filter(|v| !v.is_empty()).cloned().unwrap_or_else(|| "0".into())
        }
        Some(v) => v.to_owned(),
        None => "0".into(),
    }
}

/// Find the entry a default value names: `>`-separated parts, each an index,
/// a title or an id, as GRUB's `default` accepts.
pub fn resolve<'a>(items: &'a [Item], value: &str) -> Result<&'a MenuEntry, DefaultError> {
    if value.trim().is_empty() {
        return Err(DefaultError::Empty);
    }
    let mut level = items;
    let parts: Vec<&str> = value.split('>').collect();
    for (n, part) in parts.iter().enumerate() {
        let found = match part.parse::<usize>() {
            Ok(i) => level.get(i),
            Err(_) => level.iter().find(|it| match it {
                Item::Entry(e) => e.title == *part || e.id.as_deref() == Some(part),
                Item::Submenu { title, id, .. } => title == part || id.as_deref() == Some(part),
            }),
        };
        let last = n + 1 == parts.len();
        match found {
            Some(Item::Entry(e)) if last => return Ok(e),
            Some(Item::Submenu { items, .. }) if !last => level = items,
            Some(Item::Submenu { .. }) => return Err(DefaultError::Submenu(value.to_owned())),
            _ => return Err(DefaultError::NoSuchEntry(value.to_owned())),
        }
    }
    Err(DefaultError::NoSuchEntry(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str = r#"
if [ -s $prefix/grubenv ]; then
  load_env
fi
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
   set next_entry=
else
   set default="${saved_entry}"
fi
function load_video {
  if [ x$feature_all_video_module = xy ]; then
    insmod all_video
  fi
}
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux $menuentry_id_option 'gnulinux-simple-u1' {
	linux	/boot/vmlinuz-6.1.0-13-amd64 root=UUID=u1 ro  quiet
	initrd	/boot/initrd.img-6.1.0-13-amd64
}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-u1' {
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-13-amd64' --class debian $menuentry_id_option 'gnulinux-6.1.0-13-amd64-advanced-u1' {
		linux	/boot/vmlinuz-6.1.0-13-amd64 root=UUID=u1 ro  quiet
		initrd	/boot/initrd.img-6.1.0-13-amd64
	}
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-9-amd64' --class debian $menuentry_id_option 'gnulinux-6.1.0-9-amd64-advanced-u1' {
		linux	/boot/vmlinuz-6.1.0-9-amd64 root=UUID=u1 ro  quiet
		initrd	/boot/initrd.img-6.1.0-9-amd64
	}
}
"#;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn debian_menu_has_entry_and_submenu() {
        let cfg = parse_cfg(DEBIAN);
        assert_eq!(cfg.items.len(), 2);
        assert_eq!(cfg.default.as_deref(), Some("${saved_entry}"));
    }

    #[test]
    fn saved_entry_by_submenu_path_of_titles() {
        let cfg = parse_cfg(DEBIAN);
        let v = default_value(
            &cfg,
            &env(&[(
                "saved_entry",
                "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-9-amd64",
            )]),
        );
        let e = resolve(&cfg.items, &v).unwrap();
        assert_eq!(e.linux.as_deref(), Some("/boot/vmlinuz-6.1.0-9-amd64"));
    }

    #[test]
    fn saved_entry_by_ids_and_indexes() {
        let cfg = parse_cfg(DEBIAN);
        let e = resolve(&cfg.items, "gnulinux-advanced-u1>gnulinux-6.1.0-9-amd64-advanced-u1").unwrap();
        assert_eq!(e.initrds, ["/boot/initrd.img-6.1.0-9-amd64"]);
        let e = resolve(&cfg.items, "1>0").unwrap();
        assert_eq!(e.linux.as_deref(), Some("/boot/vmlinuz-6.1.0-13-amd64"));
    }

    #[test]
    fn next_entry_wins_over_saved_entry() {
        let cfg = parse_cfg(DEBIAN);
        let v = default_value(&cfg, &env(&[("saved_entry", "0"), ("next_entry", "1>1")]));
        assert_eq!(v, "1>1");
    }

    #[test]
    fn empty_saved_entry_means_first_entry() {
        let cfg = parse_cfg(DEBIAN);
        assert_eq!(default_value(&cfg, &env(&[])), "0");
    }

    #[test]
    fn unresolvable_defaults_say_why() {
        let cfg = parse_cfg(DEBIAN);
        assert_eq!(resolve(&cfg.items, "7"), Err(DefaultError::NoSuchEntry("7".into())));
        assert_eq!(resolve(&cfg.items, "1"), Err(DefaultError::Submenu("1".into())));
        assert_eq!(resolve(&cfg.items, "Nope"), Err(DefaultError::NoSuchEntry("Nope".into())));
    }

    #[test]
    fn grubenv_is_read_past_padding() {
        let e = parse_env(b"# GRUB Environment Block\nsaved_entry=1>0\n####################\n");
        assert_eq!(e.get("saved_entry").map(String::as_str), Some("1>0"));
    }

    #[test]
    fn quoting_follows_grub() {
        assert_eq!(words(r#"menuentry "a \"b\"" 'c d' e\ f # x"#), ["menuentry", "a \"b\"", "c d", "e f"]);
    }
}
