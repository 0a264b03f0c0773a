//! Boot Loader Specification Type 1 entries (`loader/entries/*.conf`), parsed
//! from text. Keys per the UAPI Boot Loader Specification: one `key value` per
//! line, `#` comments, `initrd` and `options` may repeat.

/// The most read of one entry file: a few hundred bytes in practice; the
/// specification sets no bound, this one leaves room for long `options`.
pub const ENTRY_MAX: u64 = 64 * 1024;

/// The keys of one entry that kexec-chooser uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlsEntry {
    pub title: Option<String>,
    pub version: Option<String>,
    pub linux: Option<String>,
    pub initrds: Vec<String>,
    /// All `options` lines joined with a space.
    pub options: Option<String>,
    pub devicetree: Option<String>,
    pub sort_key: Option<String>,
    pub machine_id: Option<String>,
    pub architecture: Option<String>,
    /// Keys that kexec-chooser cannot honour (`efi`, `uki`, unknown ones).
    pub unsupported: Vec<String>,
}

/// Parse the text of an entry. Never fails: unknown keys are recorded.
pub fn parse(text: &str) -> BlsEntry {
    let mut e = BlsEntry::default();
    let mut options: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once(|c: char| c.is_whitespace()) {
            Some((k, v)) => (k, v.trim()),
            None => (line, ""),
        };
        let v = || Some(value.to_owned());
        match key {
            "title" => e.title = v(),
            "version" => e.version = v(),
            "linux" => e.linux = v(),
            "initrd" => e.initrds.extend(value.split_whitespace().map(str::to_owned)),
            "options" => options.push(value.to_owned()),
            "devicetree" => e.devicetree = v(),
            "sort-key" => e.sort_key = v(),
            "machine-id" => e.machine_id = v(),
            "architecture" => e.architecture = v(),
            "devicetree-overlay" | "efi" | "uki" => e.unsupported.push(key.to_owned()),
            _ => {}
        }
    }
    if !options.is_empty() {
        e.options = Some(options.join(" "));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fedora_entry_parses_every_key() {
        let e = parse(
            "title Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Workstation Edition)\n\
             version 6.5.6-300.fc39.x86_64\n\
             linux /vmlinuz-6.5.6-300.fc39.x86_64\n\
             initrd /initramfs-6.5.6-300.fc39.x86_64.img\n\
             options root=UUID=abc ro rhgb quiet\n\
             grub_users $grub_users\n\
             grub_arg --unrestricted\n\
             grub_class fedora\n",
        );
        assert_eq!(e.version.as_deref(), Some("6.5.6-300.fc39.x86_64"));
        assert_eq!(e.linux.as_deref(), Some("/vmlinuz-6.5.6-300.fc39.x86_64"));
        assert_eq!(e.initrds, ["/initramfs-6.5.6-300.fc39.x86_64.img"]);
        assert_eq!(e.options.as_deref(), Some("root=UUID=abc ro rhgb quiet"));
    }

    #[test]
    fn repeated_initrd_and_options_accumulate_in_order() {
        let e = parse("linux /k\ninitrd /intel-ucode.img\ninitrd /initramfs.img\noptions a=1\noptions  b\n# x\n");
        assert_eq!(e.initrds, ["/intel-ucode.img", "/initramfs.img"]);
        assert_eq!(e.options.as_deref(), Some("a=1 b"));
    }

    #[test]
    fn garbage_gives_an_empty_entry() {
        assert_eq!(parse("\u{0}\u{1}zz\n\n").linux, None);
    }
}
