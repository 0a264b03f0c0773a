//! What `load` leaves in /run (gone at the next boot) for a later `exec`:
//! the record id marked on the loaded command line, the entry, and the
//! watchdog driver that line holds back, so that `exec` can set the same
//! safety net `load` planned.

use std::path::{Path, PathBuf};

use crate::paths;
use crate::root::Root;

/// The note `load` writes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoadNote {
    pub mark: String,
    pub id: String,
    pub release: String,
    /// The kind of watchdog the loaded command line was made for.
    #[serde(default)]
    pub kind: Option<crate::safety::record::Kind>,
    pub module: Option<String>,
    pub timeout: Option<u32>,
}

/// Its file name under [`paths::RUN_DIR`].
const FILE: &str = "loaded.json";
/// The most read of it: a note is a few hundred bytes.
const LIMIT: u64 = 64 * 1024;

fn system_path() -> PathBuf {
    Path::new(paths::RUN_DIR).join(FILE)
}

impl LoadNote {
    pub fn write(&self, root: &Root) -> anyhow::Result<()> {
        root.write_file(system_path(), 0o644, &serde_json::to_vec(self)?)?;
        Ok(())
    }

    /// The note, if `load` left one; an unreadable one is none (then `exec`
    /// hands over without a watchdog, and says so).
    pub fn read(root: &Root) -> Option<LoadNote> {
        let bytes = root.read(system_path(), LIMIT).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn remove(root: &Root) {
        let _ = root.remove_file(system_path());
    }
}
