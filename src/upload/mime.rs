//! Content types guessed from a file's extension: a small table of what people
//! upload from an administration tool (images, archives, disk images, text),
//! instead of a thousand-entry crate; anything else is
//! `application/octet-stream`, which every server accepts.

use std::path::Path;

/// The type sent when nothing better is known.
pub const DEFAULT: &str = "application/octet-stream";

const TABLE: &[(&str, &str)] = &[
    ("7z", "application/x-7z-compressed"),
    ("avif", "image/avif"),
    ("bmp", "image/bmp"),
    ("bz2", "application/x-bzip2"),
    ("c", "text/x-c"),
    ("conf", "text/plain"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("deb", "application/vnd.debian.binary-package"),
    ("diff", "text/x-diff"),
    ("gif", "image/gif"),
    ("gz", "application/gzip"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/vnd.microsoft.icon"),
    ("img", "application/octet-stream"),
    ("iso", "application/x-iso9660-image"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("log", "text/plain"),
    ("md", "text/markdown"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("ogg", "audio/ogg"),
    ("patch", "text/x-diff"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("qcow2", "application/x-qemu-disk"),
    ("rpm", "application/x-rpm"),
    ("rs", "text/x-rust"),
    ("sh", "text/x-shellscript"),
    ("svg", "image/svg+xml"),
    ("tar", "application/x-tar"),
    ("tgz", "application/gzip"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("toml", "application/toml"),
    ("txt", "text/plain"),
    ("wasm", "application/wasm"),
    ("webm", "video/webm"),
    ("webp", "image/webp"),
    ("xml", "application/xml"),
    ("xz", "application/x-xz"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
    ("zip", "application/zip"),
    ("zst", "application/zstd"),
];

/// The content type for a file name (the extension decides, case-insensitively).
pub fn guess(name: &str) -> &'static str {
    let Some(ext) = Path::new(name).extension().and_then(|e| e.to_str()) else {
        return DEFAULT;
    };
    let ext = ext.to_ascii_lowercase();
    TABLE.binary_search_by(|(e, _)| (*e).cmp(ext.as_str())).ok().and_then(|i| TABLE.get(i)).map_or(DEFAULT, |(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn extension_decides_case_insensitively() {
        assert_eq!(guess("photo.JPG"), "image/jpeg");
        assert_eq!(guess("dir.d/archive.tar.gz"), "application/gzip");
        assert_eq!(guess("notes.txt"), "text/plain");
    }

    #[test]
    fn unknown_or_missing_extension_is_octet_stream() {
        assert_eq!(guess("vmlinuz"), DEFAULT);
        assert_eq!(guess("x.unknownext"), DEFAULT);
        assert_eq!(guess(".bashrc"), DEFAULT);
        assert_eq!(guess(""), DEFAULT);
    }
}
