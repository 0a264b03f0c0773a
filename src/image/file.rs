//! The only I/O of the image module: read a file's head, a byte range, a UKI
//! section; and identify a whole file (its head, then a UKI's sections that
//! lie beyond the head, then the length its headers promise).
//!
//! Every function takes a file the caller has opened (under `--root`, with
//! `Root::open_file`, which resolves inside the root and opens only regular
//! files) and the name to give in errors: nothing here chooses what to open.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::{identify_at_depth, merge_linux, set_uki_text, Format, Identified, ImageError};
use super::{Section, HEAD_LEN};

/// The largest text section (`.uname`, `.cmdline`, `.osrel`) read from a UKI:
/// far more than any command line a kernel accepts.
pub const TEXT_SECTION_MAX: u64 = 64 * 1024;

/// Why a file could not be read or identified.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {source}", path.display())]
    Image {
        path: PathBuf,
        #[source]
        source: ImageError,
    },
    #[error("{}: section {name} is {size} bytes, more than the {max} it may have", path.display())]
    SectionTooLarge { path: PathBuf, name: String, size: u64, max: u64 },
}

impl FileError {
    /// The identification problem, when the file was read but is no good.
    pub fn image_error(&self) -> Option<&ImageError> {
        match self {
            FileError::Image { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The first [`HEAD_LEN`] bytes of `f` (fewer if the file is shorter).
pub fn read_head(f: &File) -> io::Result<Vec<u8>> {
    read_range(f, 0, HEAD_LEN)
}

/// Up to `len` bytes of `f` from `offset` (fewer at the end of the file).
pub fn read_at(f: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    read_range(f, offset, len)
}

fn read_range(mut f: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(offset))?;
    // Room for it all up front: read_to_end on an empty vector starts at 32
    // bytes and doubles, a dozen reads and copies for a 64 KiB header. (The
    // lengths asked for are headers and sections already checked against a
    // maximum; a short file leaves the rest of the room unused.)
    let mut buf = Vec::with_capacity(len.min(64 << 20));
    f.take(u64::try_from(len).unwrap_or(u64::MAX)).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The data of a PE section of `f` (as listed by [`super::identify`]),
/// refusing sections larger than `max` bytes; `path` names `f` in errors.
pub fn section_bytes(f: &File, path: &Path, section: &Section, max: u64) -> Result<Vec<u8>, FileError> {
    section_data(path, f, section, max)
}

fn section_data(path: &Path, f: &File, section: &Section, max: u64) -> Result<Vec<u8>, FileError> {
    if section.size > max {
        return Err(FileError::SectionTooLarge {
            path: path.to_path_buf(),
            name: section.name.clone(),
            size: section.size,
            max,
        });
    }
    let len = usize::try_from(section.size).unwrap_or(usize::MAX);
    let data = read_range(f, section.offset, len).map_err(|e| read_error(path, e))?;
    if data.len() < len {
        return Err(FileError::Image {
            path: path.to_path_buf(),
            source: ImageError::Truncated {
                what: "PE section data",
                need: section.offset.saturating_add(section.size),
                have: section.offset.saturating_add(super::bytes::len64(data.len())),
            },
        });
    }
    Ok(data)
}

/// Identify the file `f`: [`super::identify`] on its head; for a UKI,
/// also the `.uname`, `.cmdline` and `.osrel` sections and the header of the
/// kernel in `.linux`, wherever they lie; and check that the file is as long
/// as its headers say (a kernel cut short by a full disk is `Truncated`).
/// `path` names `f` in errors.
pub fn identify_file(f: &File, path: &Path) -> Result<Identified, FileError> {
    let file_len = f.metadata().map_err(|e| read_error(path, e))?.len();
    let head = read_range(f, 0, HEAD_LEN).map_err(|e| read_error(path, e))?;
    let image_error = |source| FileError::Image { path: path.to_path_buf(), source };
    let mut id = super::identify(&head).map_err(image_error)?;
    // First the length, so that a cut-off UKI says so rather than that its
    // sections are bad.
    if let Some(need) = id.min_file_len {
        if file_len < need {
            return Err(image_error(ImageError::Truncated { what: "kernel image", need, have: file_len }));
        }
    }
    if id.format == Some(Format::Uki) {
        let sections = id.sections.clone();
        let find = |name: &str| sections.iter().find(|s| s.name == name);
        let uki = id.uki.clone().unwrap_or_default();
        let missing =
            [(".uname", uki.uname.is_none()), (".cmdline", uki.cmdline.is_none()), (".osrel", uki.osrel.is_none())];
        for (name, is_missing) in missing {
            if let (true, Some(s)) = (is_missing, find(name)) {
                let data = section_data(path, f, s, TEXT_SECTION_MAX)?;
                set_uki_text(&mut id, name, &data);
            }
        }
        if uki.linux.is_none() {
            if let Some(s) = find(super::pe::LINUX_SECTION) {
                let want = usize::try_from(s.size).unwrap_or(usize::MAX).min(HEAD_LEN);
                let linux = read_range(f, s.offset, want).map_err(|e| read_error(path, e))?;
                let inner = identify_at_depth(&linux, 1).map_err(|e| {
                    image_error(ImageError::Malformed { what: "UKI .linux section", why: e.to_string() })
                })?;
                merge_linux(&mut id, inner);
            }
        }
    }
    Ok(id)
}

fn read_error(path: &Path, source: io::Error) -> FileError {
    FileError::Read { path: path.to_path_buf(), source }
}
