//! Tests of `identify` and `identify_file` on real Debian kernel headers and
//! a UKI built over systemd's stub (tests/fixtures/README.md says where each
//! comes from), and on the ways a header can be damaged.

use std::path::PathBuf;

use super::*;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    let p = fixture(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

fn open(p: &std::path::Path) -> std::fs::File {
    std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const AMD64: &str = "kernels/vmlinuz-6.1.0-56-amd64.head";
const ARM64: &str = "kernels/vmlinuz-6.1.0-56-arm64.head";
const ARM64_GZ: &str = "kernels/Image-6.1.0-56-arm64.gz.head";
const UKI: &str = "uki/debian-6.1.0-56-amd64.efi";

#[test]
fn debian_amd64_kernel_is_a_64bit_bzimage_with_its_release() {
    let id = identify(&read(AMD64)).unwrap();
    assert_eq!(id.format, Some(Format::Bzimage));
    assert_eq!(id.arch, Some(Arch::X86_64));
    assert_eq!(id.version.as_deref(), Some("6.1.0-56-amd64"));
    assert_eq!(id.cmdline_size, Some(2047));
    let setup = id.setup.unwrap();
    assert_eq!(setup.protocol, 0x020f);
    assert_eq!(setup.setup_sects, 0x27);
    assert!(setup.kernel_version.unwrap().contains("Debian 6.1.192-2"));
    assert_eq!(setup.relocatable, Some(true));
    // What kexec_file_load's bzImage64_probe() checks all holds.
    let setup = identify(&read(AMD64)).unwrap().setup.unwrap();
    assert_eq!(setup.kexec_file_load_problem(), None);
    // The signed file is 8247232 bytes; its sections and payload end before.
    let min = id.min_file_len.unwrap();
    assert!(min > 8_000_000 && min <= 8_247_232, "{min}");
}

#[test]
fn debian_arm64_kernel_is_an_arm64_image_despite_its_efi_stub() {
    let head = read(ARM64);
    assert_eq!(&head[..2], b"MZ");
    let id = identify(&head).unwrap();
    assert_eq!(id.format, Some(Format::Arm64Image));
    assert_eq!(id.arch, Some(Arch::Aarch64));
    assert_eq!(id.version, None);
    let h = id.arm64.unwrap();
    assert_eq!(h.text_offset, 0);
    assert_eq!(h.image_size, 0x0201_0000);
    assert_eq!(h.page_size(), Some(4096));
    assert!(!h.big_endian());
    assert!(h.place_anywhere());
    assert_eq!(h.pe_offset, 0x40);
    assert_eq!(id.min_file_len, Some(0x1f6_da00));
}

#[test]
fn gzipped_arm64_image_is_compressed() {
    let id = identify(&read(ARM64_GZ)).unwrap();
    assert_eq!(id.format, Some(Format::Compressed));
    assert_eq!(id.compression, Some(Compression::Gzip));
    assert_eq!(id.arch, None);
}

#[test]
fn uki_head_lists_its_sections() {
    let bytes = read(UKI);
    let id = identify(&bytes[..HEAD_LEN]).unwrap();
    assert_eq!(id.format, Some(Format::Uki));
    assert_eq!(id.arch, Some(Arch::X86_64));
    let names: Vec<&str> = id.sections.iter().map(|s| s.name.as_str()).collect();
    for want in [".osrel", ".cmdline", ".uname", ".initrd", ".linux", ".sbat"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    // The fixture's text sections lie past the first 64 KiB: not read yet.
    assert_eq!(id.version, None);
    let linux = id.sections.iter().find(|s| s.name == ".linux").unwrap();
    assert_eq!(linux.size, 65536);
    let end = usize::try_from(linux.offset + linux.size).unwrap();
    assert_eq!(&bytes[usize::try_from(linux.offset).unwrap()..end], &read(AMD64)[..]);
}

#[test]
fn uki_file_gives_uname_cmdline_osrel_and_its_kernel_header() {
    let uki_file = open(&fixture(UKI));
    let id = identify_file(&uki_file, &fixture(UKI)).unwrap();
    assert_eq!(id.format, Some(Format::Uki));
    assert_eq!(id.version.as_deref(), Some("6.1.0-56-amd64"));
    let uki = id.uki.clone().unwrap();
    assert_eq!(uki.uname.as_deref(), Some("6.1.0-56-amd64"));
    assert_eq!(uki.cmdline.as_deref(), Some("root=UUID=0a1b2c3d-0000-4000-8000-000000000001 ro quiet"));
    assert_eq!(uki.os_release("PRETTY_NAME").as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
    assert_eq!(uki.os_release("ID").as_deref(), Some("debian"));
    assert_eq!(uki.os_release("NOPE"), None);
    assert_eq!(uki.linux, Some(Format::Bzimage));
    assert_eq!(id.cmdline_size, Some(2047));
    assert_eq!(id.setup.unwrap().release(), Some("6.1.0-56-amd64"));
    let initrd = id.sections.iter().find(|s| s.name == ".initrd").unwrap();
    let data = section_bytes(&uki_file, &fixture(UKI), initrd, 4096).unwrap();
    assert!(data.starts_with(b"070701"));
    assert!(matches!(section_bytes(&uki_file, &fixture(UKI), initrd, 10), Err(FileError::SectionTooLarge { .. })));
}

#[test]
fn uki_version_falls_back_to_the_kernel_header_without_uname() {
    // A synthetic UKI small enough for .linux to sit in the head.
    let linux = bzimage::tests::synthetic("6.12.0-fallback (x) #1");
    let mut b = pe::tests::synthetic(0x8664, &[(".linux", 0x1000, linux.len() as u32)]);
    b.resize(0x1000, 0);
    b.extend_from_slice(&linux);
    let id = identify(&b).unwrap();
    assert_eq!(id.format, Some(Format::Uki));
    assert_eq!(id.version.as_deref(), Some("6.12.0-fallback"));
    assert_eq!(id.uki.unwrap().linux, Some(Format::Bzimage));
    assert_eq!(id.cmdline_size, Some(2047));
}

#[test]
fn uki_text_sections_inside_the_head_are_read_by_identify() {
    let mut b =
        pe::tests::synthetic(0xaa64, &[(".uname", 0x800, 8), (".cmdline", 0x900, 12), (".linux", 0x1000, 0x40)]);
    b.resize(0x1040, 0);
    b[0x800..0x808].copy_from_slice(b"6.6.6\0\0\0");
    b[0x900..0x90c].copy_from_slice(b"quiet splash");
    let id = identify(&b).unwrap();
    assert_eq!(id.version.as_deref(), Some("6.6.6"));
    assert_eq!(id.arch, Some(Arch::Aarch64));
    assert_eq!(id.uki.unwrap().cmdline.as_deref(), Some("quiet splash"));
}

#[test]
fn pe_without_linux_section_is_plain_pe() {
    let stub = read(UKI);
    let b = pe::tests::synthetic(0x8664, &[(".text", 0x400, 0x10), (".sbat", 0x600, 0x10)]);
    let id = identify(&b).unwrap();
    assert_eq!(id.format, Some(Format::Pe));
    assert_eq!(id.arch, Some(Arch::X86_64));
    assert_eq!(id.sections.len(), 2);
    // And the UKI stops being one when its .linux is renamed.
    let mut stub = stub;
    let pos = stub.windows(8).position(|w| w == b".linux\0\0").unwrap();
    stub[pos + 1] = b'L';
    assert_eq!(identify(&stub[..HEAD_LEN]).unwrap().format, Some(Format::Pe));
}

#[test]
fn elf_vmlinux_is_elf_with_its_machine() {
    let id = identify(&elf::tests::synthetic(goblin::elf::header::EM_AARCH64)).unwrap();
    assert_eq!(id.format, Some(Format::Elf));
    assert_eq!(id.arch, Some(Arch::Aarch64));
}

#[test]
fn zboot_is_recognised_with_its_compression() {
    let id = identify(&compressed::tests::synthetic_zboot("zstd22")).unwrap();
    assert_eq!(id.format, Some(Format::Zboot));
    assert_eq!(id.compression, Some(Compression::Zstd));
    assert_eq!(id.min_file_len, Some(0x1000 + 0x0080_0000));
    // The synthetic header has no PE header behind it: no arch to report.
    assert_eq!(id.arch, None);
}

// ---- damage -------------------------------------------------------------

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x20;
    b
}

#[test]
fn amd64_without_hdrs_is_only_a_pe_and_without_mz_still_a_bzimage() {
    let head = read(AMD64);
    for at in 0x202..0x206 {
        let id = identify(&flip(&head, at)).unwrap();
        assert_eq!(id.format, Some(Format::Pe), "HdrS byte {at:#x}");
        assert_eq!(id.version, None);
    }
    for at in [0x1FE, 0x1FF] {
        assert_eq!(identify(&flip(&head, at)).unwrap().format, Some(Format::Pe), "boot flag {at:#x}");
    }
    // "A file with the bzImage setup header is bzimage, whatever its first bytes."
    for at in [0, 1] {
        let id = identify(&flip(&head, at)).unwrap();
        assert_eq!(id.format, Some(Format::Bzimage));
        assert_eq!(id.version.as_deref(), Some("6.1.0-56-amd64"));
    }
    // No MZ and no HdrS: nothing left that says kernel.
    assert_eq!(identify(&flip(&flip(&head, 0), 0x203)), Err(ImageError::NotAKernel));
}

#[test]
fn arm64_without_its_magic_is_only_a_pe_and_without_mz_still_an_image() {
    let head = read(ARM64);
    for at in 0x38..0x3C {
        let id = identify(&flip(&head, at)).unwrap();
        assert_eq!(id.format, Some(Format::Pe), "magic byte {at:#x}");
        assert_eq!(id.arch, Some(Arch::Aarch64));
    }
    assert_eq!(identify(&flip(&head, 0)).unwrap().format, Some(Format::Arm64Image));
    assert_eq!(identify(&flip(&flip(&head, 0), 0x38)), Err(ImageError::NotAKernel));
}

#[test]
fn uki_and_zboot_and_elf_and_gzip_magics_flipped_are_not_what_they_were() {
    let uki = read(UKI);
    // "PE\0\0" at e_lfanew.
    let lfanew = usize::try_from(u32::from_le_bytes(uki[0x3C..0x40].try_into().unwrap())).unwrap();
    assert_eq!(identify(&flip(&uki, lfanew)[..HEAD_LEN]), Err(ImageError::NotAKernel));
    assert_eq!(identify(&flip(&uki, 0)[..HEAD_LEN]), Err(ImageError::NotAKernel));
    let z = compressed::tests::synthetic_zboot("gzip");
    for at in 4..8 {
        assert_ne!(identify(&flip(&z, at)).ok().and_then(|i| i.format), Some(Format::Zboot));
    }
    let e = elf::tests::synthetic(goblin::elf::header::EM_X86_64);
    for at in 0..4 {
        assert_eq!(identify(&flip(&e, at)), Err(ImageError::NotAKernel), "ELF magic {at}");
    }
    let gz = read(ARM64_GZ);
    for at in 0..3 {
        assert_eq!(identify(&flip(&gz, at)), Err(ImageError::NotAKernel), "gzip magic {at}");
    }
}

#[test]
fn every_prefix_of_the_amd64_header_is_truncated_until_the_version_string_ends() {
    let head = read(AMD64);
    // The string sits at 0x42c0 + 0x200; its NUL ends what identify needs.
    let nul = 0x44c0 + head[0x44c0..].iter().position(|&b| b == 0).unwrap();
    for len in 0..=head.len() {
        let got = identify(&head[..len]);
        if len <= nul {
            assert!(matches!(got, Err(ImageError::Truncated { .. })), "len {len}: {got:?}");
        } else {
            assert_eq!(got.unwrap().version.as_deref(), Some("6.1.0-56-amd64"), "len {len}");
        }
    }
}

#[test]
fn every_prefix_of_the_arm64_and_uki_headers_is_truncated_or_right() {
    let head = read(ARM64);
    for len in 0..=0x100 {
        let got = identify(&head[..len]);
        if len < 0x40 {
            assert!(matches!(got, Err(ImageError::Truncated { .. })), "len {len}: {got:?}");
        } else {
            assert_eq!(got.unwrap().format, Some(Format::Arm64Image));
        }
    }
    let uki = read(UKI);
    let mut first_ok = None;
    for len in 0..=0x1000 {
        match identify(&uki[..len]) {
            Ok(id) => {
                assert_eq!(id.format, Some(Format::Uki), "len {len}");
                first_ok.get_or_insert(len);
            }
            Err(e) => {
                assert!(first_ok.is_none(), "len {len} failed after a shorter prefix passed");
                assert!(matches!(e, ImageError::Truncated { .. }), "len {len}: {e:?}");
            }
        }
    }
    assert!(first_ok.is_some());
}

#[test]
fn a_version_pointer_outside_the_setup_sectors_is_malformed() {
    let mut head = read(AMD64);
    // setup_sects 0x27: 0x5000 bytes of setup; pointer + 0x200 must stay below.
    head[0x20E..0x210].copy_from_slice(&0x4E00u16.to_le_bytes());
    assert!(matches!(identify(&head), Err(ImageError::Malformed { what: "bzImage kernel_version", .. })));
    // Fewer setup sectors move the limit below the real string.
    let mut head = read(AMD64);
    head[0x1F1] = 4;
    assert!(matches!(identify(&head), Err(ImageError::Malformed { .. })));
}

#[test]
fn short_garbage_is_truncated_and_longer_garbage_is_not_a_kernel() {
    assert!(matches!(identify(b""), Err(ImageError::Truncated { have: 0, .. })));
    assert!(matches!(identify(b"hello\n"), Err(ImageError::Truncated { .. })));
    let text = b"# This is a GRUB config, not a kernel.\n".repeat(40);
    assert_eq!(identify(&text), Err(ImageError::NotAKernel));
    assert_eq!(identify(&vec![0u8; HEAD_LEN]), Err(ImageError::NotAKernel));
}

#[test]
fn random_garbage_never_panics_and_is_never_a_bzimage() {
    // xorshift64*: deterministic, no dependency.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let amd64 = read(AMD64);
    for round in 0..2000 {
        let len = usize::try_from(next() % 4096).unwrap();
        let mut b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 2 == 0 && len > 0x300 {
            // Half the time, keep real magics so deeper code runs on garbage.
            b[..0x300].copy_from_slice(&amd64[..0x300]);
        }
        if let Ok(id) = identify(&b) {
            if round % 2 == 1 {
                assert_ne!(id.format, Some(Format::Bzimage), "round {round}");
            }
        }
    }
}

#[test]
fn identify_file_reports_a_kernel_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("vmlinuz-6.1.0-56-amd64");
    std::fs::write(&p, read(AMD64)).unwrap();
    let err = identify_file(&open(&p), &p).unwrap_err();
    assert!(matches!(err.image_error(), Some(ImageError::Truncated { what: "kernel image", .. })), "{err}");
    assert!(err.to_string().contains("vmlinuz-6.1.0-56-amd64"), "{err}");
    let cut_uki = dir.path().join("cut.efi");
    std::fs::write(&cut_uki, &read(UKI)[..100_000]).unwrap();
    let err = identify_file(&open(&cut_uki), &cut_uki).unwrap_err();
    assert!(
        matches!(err.image_error(), Some(ImageError::Truncated { what: "kernel image", have: 100_000, .. })),
        "{err}"
    );
    assert_eq!(read_head(&open(&fixture(UKI))).unwrap().len(), HEAD_LEN);
    assert_eq!(read_at(&open(&fixture(UKI)), 0x3C, 4).unwrap().len(), 4);
}

#[test]
fn identify_file_of_a_whole_small_kernel_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Image.gz");
    std::fs::write(&p, read(ARM64_GZ)).unwrap();
    assert_eq!(identify_file(&open(&p), &p).unwrap().format, Some(Format::Compressed));
}
