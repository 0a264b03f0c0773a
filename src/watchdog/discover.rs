//! Reading what the running kernel says about its watchdogs: the devices of
//! /sys/class/watchdog (drivers/watchdog/watchdog_dev.c, `wdt_attrs`), the
//! watchdog core module's parameters, and which processes hold a device open.
//! Everything is read under a [`Root`], so it is tested on fixture trees.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::boot::Root;

use super::{known_driver, paths, Core, Holder, Inventory, Module, ModuleSource, TargetModules, Watchdog};

/// Sysfs attributes are one short line; anything longer is not sysfs.
const ATTR_LIMIT: u64 = 4096;

/// Why the inventory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("cannot read {}: {source}", crate::text::path(path))]
    Read { path: PathBuf, source: std::io::Error },
}

/// One attribute, trimmed; `None` when missing or unreadable (an attribute a
/// driver hides, such as `timeleft`, is absent rather than empty).
fn attr(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut s = String::new();
    file.take(ATTR_LIMIT).read_to_string(&mut s).ok()?;
    Some(s.trim().to_string())
}

fn attr_u32(path: &Path) -> Option<u32> {
    attr(path)?.parse().ok()
}

/// The last component of a symbolic link's target (`../../bus/pci/drivers/X` → `X`).
fn link_name(path: &Path) -> Option<String> {
    let target = std::fs::read_link(path).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
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
    root.path(paths::SYS_MODULE).join(name).join("initstate").exists()
}

/// The watchdog core: module or built-in, its parameters, and the modules
/// that use it (`holders/`, each a driver registered with the core).
pub fn read_core(root: &Root) -> Core {
    let dir = root.path(paths::SYS_MODULE).join(paths::CORE_MODULE);
    let params = dir.join("parameters");
    let mut users: Vec<String> = std::fs::read_dir(dir.join("holders"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    users.sort();
    Core {
        present: dir.is_dir(),
        loadable: module_loadable(root, paths::CORE_MODULE),
        stop_on_reboot: attr(&params.join("stop_on_reboot")).and_then(|s| s.parse().ok()),
        handle_boot_enabled: attr(&params.join("handle_boot_enabled")).and_then(|s| match s.as_str() {
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
    let driver = link_name(&dir.join("device/driver"));
    if let Some(name) = link_name(&dir.join("device/driver/module")) {
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
    let class = root.path(paths::SYS_CLASS_WATCHDOG);
    let core = read_core(root);
    let entries = match std::fs::read_dir(&class) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Inventory { devices: Vec::new(), core, holders_complete: false })
        }
        Err(source) => return Err(DiscoverError::Read { path: class, source }),
    };
    let mut devices = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| DiscoverError::Read { path: class.clone(), source })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(number) = index(&name) else { continue };
        let dir = entry.path();
        let identity = attr(&dir.join("identity")).unwrap_or_default();
        let (driver, module) = module_of(root, &dir, &identity, &core);
        devices.push((
            number,
            Watchdog {
                device: PathBuf::from(paths::DEV).join(&name),
                name,
                identity,
                active: attr(&dir.join("state")).and_then(|s| match s.as_str() {
                    "active" => Some(true),
                    "inactive" => Some(false),
                    _ => None,
                }),
                timeout: attr_u32(&dir.join("timeout")),
                min_timeout: attr_u32(&dir.join("min_timeout")),
                // 0 is the core's "not known" (watchdog_check_min_max_timeout).
                max_timeout: attr_u32(&dir.join("max_timeout")).filter(|&m| m > 0),
                nowayout: attr(&dir.join("nowayout")).map(|s| s == "1"),
                bootstatus: attr_u32(&dir.join("bootstatus")),
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

/// Fill each device's `holders` from the open descriptors in /proc/PID/fd.
/// Another user's descriptors are readable only by root; when any could not
/// be read, `holders_complete` stays false and "held by nobody" is not known.
pub fn find_holders(root: &Root, inventory: &mut Inventory) {
    let proc_dir = root.path(paths::PROC);
    let Ok(entries) = std::fs::read_dir(&proc_dir) else {
        inventory.holders_complete = false;
        return;
    };
    let mut complete = true;
    for entry in entries.filter_map(|e| e.ok()) {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let fds = match std::fs::read_dir(entry.path().join("fd")) {
            Ok(rd) => rd,
            // The process exited meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => {
                complete = false;
                continue;
            }
        };
        for fd in fds.filter_map(|e| e.ok()) {
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            if let Some(device) = device_named(&mut inventory.devices, &target) {
                if !device.holders.iter().any(|h| h.pid == pid) {
                    let comm = attr(&entry.path().join("comm")).unwrap_or_default();
                    device.holders.push(Holder { pid, comm });
                }
            }
        }
    }
    for d in &mut inventory.devices {
        d.holders.sort_by_key(|h| h.pid);
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

fn read_index(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut s = String::new();
    file.take(MODULES_INDEX_LIMIT).read_to_string(&mut s).ok()?;
    Some(s)
}

/// The modules of kernel `release` (depmod's modules.dep and the kernel
/// package's modules.builtin), so that a watchdog is only armed when the new
/// kernel has the driver `confirm` will load to stop it.
pub fn read_target_modules(root: &Root, release: &str) -> TargetModules {
    let mut target = TargetModules::default();
    for dir in crate::boot::paths::MODULE_DIRS {
        let base = root.path(dir).join(release);
        let Some(dep) = read_index(&base.join("modules.dep")) else { continue };
        target.known = true;
        target.loadable.extend(dep.lines().filter_map(|l| module_name(l.split(':').next()?)));
        if let Some(builtin) = read_index(&base.join("modules.builtin")) {
            target.builtin.extend(builtin.lines().filter_map(|l| module_name(l.trim())));
        }
        break;
    }
    target
}
