//! Reading what the running kernel says about its watchdogs: the devices of
//! /sys/class/watchdog (drivers/watchdog/watchdog_dev.c, `wdt_attrs`), the
//! watchdog core module's parameters, and which processes hold a device open.
//! Everything is read through a [`Root`] — inside it, regular files only,
//! with a limit — so it is tested on fixture trees and a hostile `--root`
//! tree can neither lead it outside nor hang it on a FIFO.

use std::path::{Path, PathBuf};

use crate::paths;
use crate::root::Root;

use super::{known_driver, Core, Holder, Inventory, Module, ModuleSource, TargetModules, Watchdog};

/// Sysfs attributes are one short line; anything longer is not sysfs.
const ATTR_LIMIT: u64 = 4096;

/// Why the inventory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("cannot read {}: {why}", crate::text::path(path))]
    Read { path: PathBuf, why: String },
}

/// One attribute, trimmed; `None` when missing or unreadable (an attribute a
/// driver hides, such as `timeleft`, is absent rather than empty).
fn attr(root: &Root, path: &Path) -> Option<String> {
    Some(root.read_to_string(path, ATTR_LIMIT).ok()?.trim().to_string())
}

fn attr_u32(root: &Root, path: &Path) -> Option<u32> {
    attr(root, path)?.parse().ok()
}

/// The last component of what a symbolic link leads to, inside the root
/// (`device/driver` → `/sys/bus/pci/drivers/X` → `X`).
fn link_name(root: &Root, path: &Path) -> Option<String> {
    let target = root.resolve(path)?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

/// Whether `name` can be a kernel module's name: it goes onto the new
/// kernel's command line (`modprobe.blacklist=NAME`) and to `modprobe`, so a
/// space, a quote, a comma or a control character read from a hostile tree
/// must never get there. Kernel module names are C identifiers with `-`
/// read as `_` (scripts/Makefile.lib), shorter than `MODULE_NAME_LEN` (56).
pub fn valid_module_name(name: &str) -> bool {
    (1..56).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The names in a directory under the root; none when it cannot be read.
fn names(root: &Root, path: &Path) -> Vec<String> {
    root.read_dir(path)
        .map(|names| names.into_iter().map(|n| n.to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// The number of `watchdogN`, for ordering; `None` for any other name.
fn index(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("watchdog")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `/sys/module/NAME` is a loadable module: only those have `initstate`
/// (kernel/module/sysfs.c); a built-in driver's directory has none.
fn module_loadable(root: &Root, name: &str) -> bool {
    root.exists(Path::new(paths::SYS_MODULE).join(name).join("initstate"))
}

/// The watchdog core: module or built-in, its parameters, and the modules
/// that use it (`holders/`, each a driver registered with the core).
pub fn read_core(root: &Root) -> Core {
    let dir = Path::new(paths::SYS_MODULE).join(super::CORE_MODULE);
    let params = dir.join("parameters");
    let users = names(root, &dir.join("holders")).into_iter().filter(|n| valid_module_name(n)).collect();
    Core {
        present: root.is_dir(&dir),
        loadable: module_loadable(root, super::CORE_MODULE),
        stop_on_reboot: attr(root, &params.join("stop_on_reboot")).and_then(|s| s.parse().ok()),
        handle_boot_enabled: attr(root, &params.join("handle_boot_enabled")).and_then(|s| match s.as_str() {
            "Y" | "1" => Some(true),
            "N" | "0" => Some(false),
            _ => None,
        }),
        users,
    }
}

/// The module that drives a device. The device's parent link leads to its
/// driver and module, but some drivers register no parent (i6300esb's device
/// is virtual), so then the identity is looked up among the drivers known
/// here, and last the sole user of the watchdog core is taken.
fn module_of(root: &Root, dir: &Path, identity: &str, core: &Core) -> (Option<String>, Option<Module>) {
    let driver = link_name(root, &dir.join("device/driver"));
    if let Some(name) = link_name(root, &dir.join("device/driver/module")).filter(|n| valid_module_name(n)) {
        let loadable = module_loadable(root, &name);
        return (driver, Some(Module { name, loadable, source: ModuleSource::DriverLink }));
    }
    if let Some(known) = known_driver(identity) {
        let name = known.module.to_string();
        let loadable = module_loadable(root, &name);
        return (driver, Some(Module { name, loadable, source: ModuleSource::Identity }));
    }
    if let [only] = core.users.as_slice() {
        let loadable = module_loadable(root, only);
        return (driver, Some(Module { name: only.clone(), loadable, source: ModuleSource::CoreUser }));
    }
    (driver, None)
}

/// Every device of /sys/class/watchdog, in the order of their numbers. No
/// class directory means no watchdog driver is loaded: an empty inventory.
/// Holders are not looked for here (see [`find_holders`]).
pub fn discover(root: &Root) -> Result<Inventory, DiscoverError> {
    let class = Path::new(paths::SYS_CLASS_WATCHDOG);
    let core = read_core(root);
    let entries = match root.read_dir(class) {
        Ok(names) => names,
        Err(e) if e.is_not_found() => return Ok(Inventory { devices: Vec::new(), core, holders_complete: false }),
        Err(e) => return Err(DiscoverError::Read { path: class.to_path_buf(), why: e.to_string() }),
    };
    let mut devices = Vec::new();
    for name in entries {
        let name = name.to_string_lossy().into_owned();
        let Some(number) = index(&name) else { continue };
        let dir = class.join(&name);
        let attr = |a: &str| attr(root, &dir.join(a));
        let attr_u32 = |a: &str| attr_u32(root, &dir.join(a));
        let identity = attr("identity").unwrap_or_default();
        let (driver, module) = module_of(root, &dir, &identity, &core);
        devices.push((
            number,
            Watchdog {
                device: PathBuf::from(paths::DEV).join(&name),
                name,
                identity,
                active: attr("state").and_then(|s| match s.as_str() {
                    "active" => Some(true),
                    "inactive" => Some(false),
                    _ => None,
                }),
                timeout: attr_u32("timeout"),
                min_timeout: attr_u32("min_timeout"),
                // 0 is the core's "not known" (watchdog_check_min_max_timeout).
                max_timeout: attr_u32("max_timeout").filter(|&m| m > 0),
                nowayout: attr("nowayout").map(|s| s == "1"),
                bootstatus: attr_u32("bootstatus"),
                driver,
                module,
                holders: Vec::new(),
            },
        ));
    }
    devices.sort_by_key(|(n, _)| *n);
    Ok(Inventory { devices: devices.into_iter().map(|(_, d)| d).collect(), core, holders_complete: false })
}

/// The device a `/dev` path names: `watchdogN`, or the legacy `/dev/watchdog`,
/// which belongs to watchdog0 when there is one (the core registers the misc
/// device for its first device and numbers it 0; when a legacy driver such as
/// ipmi_watchdog took the misc minor first, the core starts at 1:
/// drivers/watchdog/watchdog_core.c, `__watchdog_register_device`).
fn device_named<'a>(devices: &'a mut [Watchdog], target: &Path) -> Option<&'a mut Watchdog> {
    let name = target.strip_prefix(paths::DEV).ok()?.to_str()?;
    let name = if name == "watchdog" { "watchdog0" } else { name };
    devices.iter_mut().find(|d| d.name == name)
}

/// Every process with a descriptor open on a file `wanted` accepts, with
/// the file, from /proc/PID/fd. Another user's descriptors are readable
/// only by root: the flag says whether every process could be read, so
/// that "held by nobody" is not claimed when it is not known.
pub fn open_files(root: &Root, wanted: impl Fn(&Path) -> bool) -> (Vec<(Holder, PathBuf)>, bool) {
    let Ok(entries) = root.read_dir(paths::PROC) else { return (Vec::new(), false) };
    let mut complete = true;
    let mut out = Vec::new();
    for entry in entries {
        let Some(pid) = entry.to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let proc_dir = Path::new(paths::PROC).join(entry);
        let fd_dir = proc_dir.join("fd");
        let fds = match root.read_dir(&fd_dir) {
            Ok(names) => names,
            // The process exited meanwhile.
            Err(e) if e.is_not_found() => continue,
            Err(_) => {
                complete = false;
                continue;
            }
        };
        for fd in fds {
            // The text of the link (a descriptor's link names the file it
            // holds open), read inside the root; only compared, never followed.
            let Ok(target) = root.read_link(fd_dir.join(fd)) else { continue };
            if wanted(&target) && !out.iter().any(|(h, t): &(Holder, PathBuf)| h.pid == pid && *t == target) {
                let comm = attr(root, &proc_dir.join("comm")).unwrap_or_default();
                out.push((Holder { pid, comm }, target));
            }
        }
    }
    out.sort_by_key(|(h, _)| h.pid);
    (out, complete)
}

/// Fill each device's `holders` from the open descriptors in /proc/PID/fd.
pub fn find_holders(root: &Root, inventory: &mut Inventory) {
    let is_device = |t: &Path| {
        t.starts_with(paths::DEV) && t.file_name().is_some_and(|n| n.to_string_lossy().starts_with("watchdog"))
    };
    let (open, complete) = open_files(root, is_device);
    for (holder, target) in open {
        if let Some(device) = device_named(&mut inventory.devices, &target) {
            if !device.holders.iter().any(|h| h.pid == holder.pid) {
                device.holders.push(holder);
            }
        }
    }
    inventory.holders_complete = complete;
}

/// modules.dep of a distribution kernel is about 1 MiB; this leaves room.
const MODULES_INDEX_LIMIT: u64 = 16 << 20;

/// A module's name from its path in modules.dep or modules.builtin
/// (`kernel/drivers/watchdog/i6300esb.ko.xz` → `i6300esb`), with `-` read as
/// `_` as kmod does.
fn module_name(path: &str) -> Option<String> {
    let file = path.rsplit('/').next()?;
    let stem = file.split(".ko").next().filter(|s| !s.is_empty() && file.contains(".ko"))?;
    Some(stem.replace('-', "_"))
}

fn read_index(root: &Root, path: &Path) -> Option<String> {
    root.read_to_string(path, MODULES_INDEX_LIMIT).ok()
}

/// The modules of kernel `release` (depmod's modules.dep and the kernel
/// package's modules.builtin), so that a watchdog is only armed when the new
/// kernel has the driver `confirm` will load to stop it.
pub fn read_target_modules(root: &Root, release: &str) -> TargetModules {
    let mut target = TargetModules::default();
    for dir in crate::paths::MODULE_DIRS {
        let base = Path::new(dir).join(release);
        let Some(dep) = read_index(root, &base.join("modules.dep")) else { continue };
        target.known = true;
        target.loadable.extend(dep.lines().filter_map(|l| module_name(l.split(':').next()?)));
        if let Some(builtin) = read_index(root, &base.join("modules.builtin")) {
            target.builtin.extend(builtin.lines().filter_map(|l| module_name(l.trim())));
        }
        break;
    }
    target
}
