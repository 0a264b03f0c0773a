//! Selectors: how a person or a script names one boot entry (a version, an id,
//! `latest`, `running`, `default`, or a path to a kernel file).

use std::path::Path;

use super::discover::{entry_for_path, Discovery};
use super::{BootEntry, Error};
use crate::root::Root;

fn candidates(entries: &[&BootEntry]) -> String {
    if entries.is_empty() {
        return "none (no kernels found)".into();
    }
    entries
        .iter()
        .map(|e| if e.id == e.version { e.id.clone() } else { format!("{} ({})", e.id, e.version) })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The entry the boot loader would boot among `entries` (in list order, so
/// for one release: BLS entries in systemd-boot's order first): the first
/// usable one that does not ask for single-user, rescue or emergency mode.
fn first_normal<'a>(entries: impl IntoIterator<Item = &'a BootEntry>) -> Option<&'a BootEntry> {
    entries.into_iter().find(|e| e.usable && !e.asks_for_rescue())
}

/// Pick the one entry `selector` names. Unusable entries are never picked by
/// `latest`; naming an unusable one explicitly is an error that says why.
/// `latest`, `running` and a release never pick an entry that asks for
/// single-user, rescue or emergency mode: only its id does.
pub fn select(root: &Root, d: &Discovery, selector: &str) -> Result<BootEntry, Error> {
    let all: Vec<&BootEntry> = d.entries.iter().collect();
    let check = |e: &BootEntry| -> Result<BootEntry, Error> {
        if e.usable {
            Ok(e.clone())
        } else {
            Err(Error::Unusable { kernel: e.kernel.clone(), problems: e.problems.join("; ") })
        }
    };
    match selector {
        "latest" => {
            return first_normal(&d.entries).cloned().ok_or_else(|| Error::NoKernel { root: root.dir().to_path_buf() })
        }
        "running" => {
            let release = d.running.clone().unwrap_or_default();
            return first_normal(d.entries.iter().filter(|e| e.running)).cloned().ok_or(Error::NotRunning { release });
        }
        "default" => {
            return match d.entries.iter().find(|e| e.default) {
                Some(e) => check(e),
                None => Err(Error::NoDefault {
                    reason: d.default_note.clone().unwrap_or_else(|| "no GRUB configuration found".into()),
                }),
            }
        }
        _ => {}
    }
    if let Some(e) = d.entries.iter().find(|e| e.id == selector) {
        return check(e);
    }
    let by_version: Vec<&BootEntry> = all.iter().copied().filter(|e| e.version == selector).collect();
    if let Some(first) = by_version.first() {
        if let Some(e) = first_normal(by_version.iter().copied()) {
            return Ok(e.clone());
        }
        let usable: Vec<&BootEntry> = by_version.iter().copied().filter(|e| e.usable).collect();
        if usable.is_empty() {
            return check(first);
        }
        return Err(Error::OnlyRescue { selector: selector.to_owned(), candidates: candidates(&usable) });
    }
    if selector.contains('/') {
        let p = Path::new(selector);
        if let Some(real) = root.resolve(p) {
            let same: Vec<&BootEntry> =
                d.entries.iter().filter(|e| root.resolve(&e.kernel).as_ref() == Some(&real)).collect();
            if let Some(e) = first_normal(same.iter().copied()).or(same.first().copied()) {
                return check(e);
            }
        }
        if let Some(e) = entry_for_path(root, p) {
            return check(&e);
        }
    }
    Err(Error::UnknownSelector { selector: selector.to_owned(), candidates: candidates(&all) })
}
