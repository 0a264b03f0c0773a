//! Selectors: how a person or a script names one boot entry (a version, an id,
//! `latest`, `running`, `default`, or a path to a kernel file).

use std::path::Path;

use super::discover::{entry_for_path, Discovery};
use super::{BootEntry, Error, Root};

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

/// Pick the one entry `selector` names. Unusable entries are never picked by
/// `latest`; naming an unusable one explicitly is an error that says why.
pub fn select(root: &Root, d: &Discovery, selector: &str) -> Result<BootEntry, Error> {
    let all: Vec<&BootEntry> = d.entries.iter().collect();
    let usable = |e: &&BootEntry| e.usable;
    let check = |e: &BootEntry| -> Result<BootEntry, Error> {
        if e.usable {
            Ok(e.clone())
        } else {
            Err(Error::Unusable { kernel: e.kernel.clone(), problems: e.problems.join("; ") })
        }
    };
    match selector {
        "latest" => {
            return d
                .entries
                .iter()
                .find(|e| e.usable)
                .cloned()
                .ok_or_else(|| Error::NoKernel { root: root.dir().to_path_buf() })
        }
        "running" => {
            let release = d.running.clone().unwrap_or_default();
            return d
                .entries
                .iter()
                .filter(|e| e.running)
                .find(|e| e.usable)
                .cloned()
                .ok_or(Error::NotRunning { release });
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
    let usable_by_version: Vec<&BootEntry> = by_version.iter().copied().filter(usable).collect();
    match (by_version.len(), usable_by_version.len()) {
        (0, _) => {}
        (_, 1) => return Ok(usable_by_version[0].clone()),
        (1, 0) => return check(by_version[0]),
        (_, 0) => return check(by_version[0]),
        _ => {
            return Err(Error::AmbiguousSelector {
                selector: selector.to_owned(),
                candidates: candidates(&usable_by_version),
            })
        }
    }
    if selector.contains('/') {
        let p = Path::new(selector);
        if let Some(real) = root.resolve(p) {
            if let Some(e) = d.entries.iter().find(|e| root.resolve(&e.kernel).as_ref() == Some(&real)) {
                return check(e);
            }
        }
        if let Some(e) = entry_for_path(root, p) {
            return check(&e);
        }
    }
    Err(Error::UnknownSelector { selector: selector.to_owned(), candidates: candidates(&all) })
}
