//! The native arm64 load: what `kexec_load(2)` needs when the running kernel
//! has no `kexec_file_load` (Debian's arm64 kernels: CONFIG_KEXEC_FILE is off).
//! kexec-tools does this in user space; here it is done without it: the Image
//! placed in System RAM, the initrd, a device tree made from the running one
//! with `/chosen` updated, and a purgatory that enters the kernel as
//! Documentation/arch/arm64/booting.rst asks.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Test code computes offsets freely (clippy.toml covers the other lints).
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod fdt;
pub mod iomem;
pub mod purgatory;
pub mod segments;
pub mod unpack;

use std::io::{Read, Seek};
use std::os::fd::AsFd;

use nix::errno::Errno;

use crate::image::{arm64 as header, compressed};
use crate::paths;
use crate::root::Root;
use crate::sys::kexec_load::{Segment, KEXEC_ARCH_AARCH64};
use crate::sys::System;

use super::Prepared;
use fdt::Fdt;
use segments::{Layout, Request};

/// Bytes of `rng-seed` given to the next kernel (it mixes them into its pool).
pub const RNG_SEED_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum Arm64Error {
    #[error("{path}: cannot read it")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the kernel is not an arm64 Image: {0}")]
    NotAnImage(String),
    #[error("the kernel is a compressed arm64 image ({0}); the native kexec_load path takes the Image, unpacked first by the load step")]
    Compressed(String),
    #[error("the kernel is a big-endian arm64 Image; only little-endian kernels are loaded")]
    BigEndian,
    #[error("{path}: the running device tree cannot be read")]
    Fdt {
        path: String,
        #[source]
        source: fdt::FdtError,
    },
    #[error("the new device tree cannot be written")]
    FdtWrite(#[source] fdt::FdtError),
    #[error(transparent)]
    Iomem(#[from] iomem::IomemError),
    #[error(transparent)]
    Placement(#[from] segments::PlacementError),
    #[error("the device tree changed size between placing and writing it")]
    DtbSizeChanged,
    #[error("cannot get random bytes for kaslr-seed and rng-seed")]
    Random(#[source] Errno),
}

/// Fresh seeds for the next kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeds {
    pub kaslr: u64,
    pub rng: Vec<u8>,
}

/// Update `/chosen` for the next kernel: its command line, its initrd (or
/// none), fresh seeds; drop what only a crash kernel should see.
pub fn edit_chosen(tree: &mut Fdt, cmdline: &[u8], initrd: Option<(u64, u64)>, seeds: &Seeds) {
    let chosen = tree.root.child_mut_or_new("chosen");
    let mut args = cmdline.to_vec();
    args.push(0);
    chosen.set_prop("bootargs", args);
    match initrd {
        // Documentation/devicetree/bindings/chosen.txt: 64-bit cells; end is exclusive.
        Some((start, end)) => {
            chosen.set_prop("linux,initrd-start", start.to_be_bytes().to_vec());
            chosen.set_prop("linux,initrd-end", end.to_be_bytes().to_vec());
        }
        None => {
            chosen.remove_prop("linux,initrd-start");
            chosen.remove_prop("linux,initrd-end");
        }
    }
    chosen.set_prop("kaslr-seed", seeds.kaslr.to_be_bytes().to_vec());
    chosen.set_prop("rng-seed", seeds.rng.clone());
    // A crash kernel's view of memory: the next kernel must see all of it.
    chosen.remove_prop("linux,elfcorehdr");
    chosen.remove_prop("linux,usable-memory-range");
}

/// Everything a `kexec_load` call takes, built and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loadable {
    pub layout: Layout,
    /// The Image header's load offset the kernel segment was placed with.
    pub text_offset: u64,
    pub kernel: Vec<u8>,
    pub initrd: Option<Vec<u8>>,
    pub dtb: Vec<u8>,
    pub purgatory: Vec<u8>,
}

impl Loadable {
    /// The segments in the order they are laid out.
    pub fn segments(&self) -> Vec<Segment<'_>> {
        let l = &self.layout;
        let mut v = vec![Segment { buf: &self.kernel, mem: l.kernel.mem, memsz: l.kernel.memsz }];
        if let (Some(p), Some(b)) = (&l.initrd, &self.initrd) {
            v.push(Segment { buf: b, mem: p.mem, memsz: p.memsz });
        }
        v.push(Segment { buf: &self.dtb, mem: l.dtb.mem, memsz: l.dtb.memsz });
        v.push(Segment { buf: &self.purgatory, mem: l.purgatory.mem, memsz: l.purgatory.memsz });
        v
    }

    /// The entry point: the purgatory.
    pub fn entry(&self) -> u64 {
        self.layout.purgatory.mem
    }
}

/// Build the segments from the kernel Image, the initrd, the command line,
/// the running device tree and memory map (pure: no syscall here).
#[allow(clippy::too_many_arguments)]
pub fn build(
    kernel: Vec<u8>,
    initrd: Option<Vec<u8>>,
    cmdline: &[u8],
    running_fdt: &[u8],
    fdt_path: &str,
    map: &iomem::MemoryMap,
    page: u64,
    seeds: &Seeds,
) -> Result<Loadable, Arm64Error> {
    if let Some(c) = compressed::detect(&kernel) {
        return Err(Arm64Error::Compressed(format!("{c:?}").to_lowercase()));
    }
    if kernel.get(compressed::ZIMG..compressed::ZIMG.saturating_add(4)) == Some(&compressed::ZIMG_MAGIC[..]) {
        return Err(Arm64Error::Compressed("EFI zboot".into()));
    }
    let h = header::parse(&kernel).map_err(|e| Arm64Error::NotAnImage(e.to_string()))?;
    if h.big_endian() {
        return Err(Arm64Error::BigEndian);
    }
    let mut tree = Fdt::parse(running_fdt).map_err(|source| Arm64Error::Fdt { path: fdt_path.into(), source })?;
    // Place with a tree of the final size: the initrd addresses are 8 bytes
    // whatever their value, so the size does not change once they are known.
    let initrd_len = initrd.as_ref().map(|i| i.len() as u64);
    edit_chosen(&mut tree, cmdline, initrd_len.map(|_| (0, 0)), seeds);
    let draft = tree.to_bytes().map_err(Arm64Error::FdtWrite)?;
    let req = Request {
        page,
        kernel_len: kernel.len() as u64,
        text_offset: h.effective_text_offset(),
        image_size: h.image_size,
        initrd_len,
        dtb_len: draft.len() as u64,
        purgatory_len: purgatory::LEN as u64,
    };
    let layout = segments::place(map, &req)?;
    let initrd_range = layout.initrd.map(|p| (p.mem, p.mem.saturating_add(p.len)));
    edit_chosen(&mut tree, cmdline, initrd_range, seeds);
    let dtb = tree.to_bytes().map_err(Arm64Error::FdtWrite)?;
    if dtb.len() != draft.len() {
        return Err(Arm64Error::DtbSizeChanged);
    }
    let purgatory = purgatory::build(layout.dtb.mem, layout.kernel.mem);
    Ok(Loadable { layout, text_offset: req.text_offset, kernel, initrd, dtb, purgatory })
}

fn read_fd(fd: std::os::fd::BorrowedFd<'_>, what: &str) -> Result<Vec<u8>, Arm64Error> {
    let err = |source| Arm64Error::Read { path: what.into(), source };
    let mut f = std::fs::File::from(fd.try_clone_to_owned().map_err(err)?);
    f.rewind().map_err(err)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v).map_err(err)?;
    Ok(v)
}

/// The running kernel's page size: segments must be aligned to it.
fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |p| p as u64)
}

/// Build the segments for `prepared` from the machine under `root` and load
/// them with `kexec_load`. Returns the errno of the syscall separately so the
/// caller can explain it.
pub fn load(root: &Root, sys: &mut dyn System, prepared: &Prepared) -> Result<Result<Loadable, Errno>, Arm64Error> {
    let kernel = read_fd(prepared.kernel.as_fd(), "the kernel")?;
    let initrd = match &prepared.initrd {
        Some(fd) => Some(read_fd(fd.as_fd(), "the initrd")?),
        None => None,
    };
    // The flattened tree and the memory map are a few KiB to a few MiB.
    const LIMIT: u64 = 64 * 1024 * 1024;
    let read = |p: &str| {
        root.read(p, LIMIT)
            .map_err(|e| Arm64Error::Read { path: p.into(), source: std::io::Error::other(e.to_string()) })
    };
    let running_fdt = read(paths::FDT)?;
    let map_text = String::from_utf8_lossy(&read(paths::IOMEM)?).into_owned();
    let map = iomem::parse(&map_text)?;
    let mut rng = vec![0u8; RNG_SEED_LEN.saturating_add(8)];
    crate::sys::random::fill(&mut rng).map_err(Arm64Error::Random)?;
    let (k, r) = rng.split_at(8);
    let mut kaslr = [0u8; 8];
    kaslr.copy_from_slice(k);
    let seeds = Seeds { kaslr: u64::from_le_bytes(kaslr), rng: r.to_vec() };
    let loadable =
        build(kernel, initrd, prepared.cmdline.as_bytes(), &running_fdt, paths::FDT, &map, page_size(), &seeds)?;
    // The same checks once more on the final layout, right before the syscall.
    segments::check(&map, &loadable.layout, loadable.text_offset, page_size(), loadable.entry())?;
    Ok(sys.kexec_load(loadable.entry(), &loadable.segments(), KEXEC_ARCH_AARCH64).map(|()| loadable))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal arm64 Image: the 64-byte header with text_offset 0,
    /// image_size `size`, flags 0xa (LE, 4K, anywhere), then code bytes.
    pub(crate) fn image(len: usize, size: u64) -> Vec<u8> {
        let mut b = vec![0x11u8; len];
        b[0..8].copy_from_slice(&[0; 8]);
        b[8..16].copy_from_slice(&0u64.to_le_bytes());
        b[16..24].copy_from_slice(&size.to_le_bytes());
        b[24..32].copy_from_slice(&0xau64.to_le_bytes());
        b[0x38..0x3c].copy_from_slice(b"ARM\x64");
        b[0x3c..0x40].copy_from_slice(&0u32.to_le_bytes());
        b
    }

    fn seeds() -> Seeds {
        Seeds { kaslr: 0x0123_4567_89ab_cdef, rng: vec![0x5a; RNG_SEED_LEN] }
    }

    fn be64(v: &[u8]) -> u64 {
        u64::from_be_bytes(v.try_into().unwrap())
    }

    #[test]
    fn chosen_gets_every_property_and_loses_the_crash_ones() {
        let running = fdt::tests::sample().to_bytes().unwrap();
        let map = iomem::parse(iomem::tests::VIRT).unwrap();
        let l = build(
            image(1 << 20, 2 << 20),
            Some(vec![7; 3000]),
            b"console=ttyAMA0 kct.marker=x",
            &running,
            "fdt",
            &map,
            4096,
            &seeds(),
        )
        .unwrap();
        let t = Fdt::parse(&l.dtb).unwrap();
        let c = t.node("/chosen").unwrap();
        assert_eq!(c.prop("bootargs").unwrap(), b"console=ttyAMA0 kct.marker=x\0");
        let initrd = l.layout.initrd.unwrap();
        assert_eq!(be64(c.prop("linux,initrd-start").unwrap()), initrd.mem);
        assert_eq!(be64(c.prop("linux,initrd-end").unwrap()), initrd.mem + 3000);
        assert_eq!(be64(c.prop("kaslr-seed").unwrap()), 0x0123_4567_89ab_cdef);
        assert_eq!(c.prop("rng-seed").unwrap(), &[0x5a; RNG_SEED_LEN][..]);
        assert!(c.prop("linux,elfcorehdr").is_none());
        assert!(c.prop("linux,usable-memory-range").is_none());
        assert_eq!(c.prop("stdout-path").unwrap(), b"/pl011@9000000\0");
        // The rest of the tree is untouched.
        assert_eq!(t.node("/memory@40000000"), fdt::tests::sample().node("/memory@40000000"));
        assert_eq!(t.reservations, vec![(0x4800_0000, 0x1000)]);
    }

    #[test]
    fn purgatory_points_at_the_dtb_and_the_kernel() {
        let running = fdt::tests::sample().to_bytes().unwrap();
        let map = iomem::parse(iomem::tests::VIRT).unwrap();
        let l = build(image(1 << 20, 2 << 20), None, b"x", &running, "fdt", &map, 4096, &seeds()).unwrap();
        let p = &l.purgatory;
        assert_eq!(u64::from_le_bytes(p[purgatory::DTB_LITERAL..][..8].try_into().unwrap()), l.layout.dtb.mem);
        assert_eq!(u64::from_le_bytes(p[purgatory::ENTRY_LITERAL..][..8].try_into().unwrap()), l.layout.kernel.mem);
        assert_eq!(l.entry(), l.layout.purgatory.mem);
        let segs = l.segments();
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[0].buf.len(), 1 << 20);
        assert_eq!(segs[0].memsz, 2 << 20);
        // No initrd: the properties of the running one are not carried over.
        let t = Fdt::parse(&l.dtb).unwrap();
        assert!(t.node("/chosen").unwrap().prop("linux,initrd-start").is_none());
    }

    #[test]
    fn a_tree_without_chosen_gets_one() {
        let mut t = fdt::tests::sample();
        t.root.children.retain(|c| c.name != "chosen");
        let map = iomem::parse(iomem::tests::VIRT).unwrap();
        let l = build(image(4096, 8192), None, b"a b", &t.to_bytes().unwrap(), "fdt", &map, 4096, &seeds()).unwrap();
        assert_eq!(Fdt::parse(&l.dtb).unwrap().node("/chosen").unwrap().prop("bootargs").unwrap(), b"a b\0");
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kernels").join(name))
            .unwrap()
    }

    #[test]
    fn debian_arm64_image_reserves_its_image_size_at_a_2mib_base() {
        // The head of Debian's 6.1.0-56-arm64 vmlinuz: text_offset 0,
        // image_size 0x2010000, flags 0xa (LE, 4K pages, anywhere).
        let head = fixture("vmlinuz-6.1.0-56-arm64.head");
        let h = header::parse(&head).unwrap();
        assert_eq!((h.text_offset, h.image_size, h.flags), (0, 0x0201_0000, 0xa));
        assert!(h.place_anywhere() && !h.big_endian() && h.page_size() == Some(4096));
        let running = fdt::tests::sample().to_bytes().unwrap();
        let map = iomem::parse(iomem::tests::VIRT).unwrap();
        let l = build(head.clone(), Some(vec![1; 10]), b"", &running, "fdt", &map, 4096, &seeds()).unwrap();
        assert_eq!(l.layout.kernel.mem % segments::KERNEL_ALIGN, 0);
        assert_eq!(l.layout.kernel.len, head.len() as u64);
        assert_eq!(l.layout.kernel.memsz, 0x0201_0000, "the BSS past the file is reserved");
        assert!(l.layout.initrd.unwrap().mem >= l.layout.kernel.mem + 0x0201_0000);
    }

    #[test]
    fn a_gzip_image_is_refused_as_compressed() {
        let e = build(
            fixture("Image-6.1.0-56-arm64.gz.head"),
            None,
            b"",
            &[],
            "fdt",
            &iomem::parse(iomem::tests::VIRT).unwrap(),
            4096,
            &seeds(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("compressed arm64 image (gzip)"), "{e}");
    }

    #[test]
    fn compressed_foreign_and_big_endian_kernels_are_refused() {
        let running = fdt::tests::sample().to_bytes().unwrap();
        let map = iomem::parse(iomem::tests::VIRT).unwrap();
        let b = |k: Vec<u8>| build(k, None, b"", &running, "fdt", &map, 4096, &seeds()).unwrap_err().to_string();
        assert!(
            b(vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0]).contains("compressed arm64 image (gzip)"),
            "{}",
            b(vec![0x1f, 0x8b, 8])
        );
        assert!(b(vec![0; 4096]).contains("not an arm64 Image"));
        let mut be = image(4096, 8192);
        be[24] = 0xb;
        assert!(b(be).contains("big-endian"));
        let e = build(image(4096, 8192), None, b"", b"garbage", "/sys/firmware/fdt", &map, 4096, &seeds()).unwrap_err();
        assert!(e.to_string().starts_with("/sys/firmware/fdt: "), "{e}");
    }

    mod choice {
        use super::*;
        use crate::image::Arch;
        use crate::kexec::load::{load, prepare, LoadError};
        use crate::kexec::preflight::tests::{machine, plan};
        use crate::kexec::syscall::Syscall;
        use crate::kexec::KexecState;
        use crate::sys::fake::{Call, Fake};
        use crate::testing::TempRoot;

        fn arm64_machine() -> TempRoot {
            let m = machine();
            m.write("/boot/vmlinuz-6.1.0-9-amd64", image(1 << 20, 2 << 20));
            m.write("/proc/iomem", iomem::tests::VIRT.as_bytes());
            m.write("/sys/firmware/fdt", fdt::tests::sample().to_bytes().unwrap());
            m.write("/sys/kernel/security/lockdown", b"[none] integrity confidentiality\n");
            m
        }

        fn run(m: &TempRoot, fake: &mut Fake, arch: Arch) -> Result<Syscall, LoadError> {
            let p = prepare(&m.root(), &plan("6.1.0-9-amd64")).unwrap();
            let state = KexecState { arch: Some(arch), ..KexecState::read(&m.root()) };
            load(&m.root(), fake, &p, &state)
        }

        #[test]
        fn enosys_on_arm64_falls_back_to_kexec_load_with_four_checked_segments() {
            let m = arm64_machine();
            let mut fake = Fake { load_error: Some(Errno::ENOSYS), ..Fake::default() };
            assert_eq!(run(&m, &mut fake, Arch::Aarch64).unwrap(), Syscall::KexecLoad);
            assert!(matches!(fake.calls[0], Call::Load(_)), "kexec_file_load is tried first");
            let n = fake.native_loads();
            assert_eq!(n.len(), 1);
            let c = n[0];
            assert_eq!(c.flags, KEXEC_ARCH_AARCH64);
            assert_eq!(c.segments.len(), 4);
            assert_eq!(c.segments[0].0, image(1 << 20, 2 << 20));
            assert_eq!(c.segments[1].0, b"INITRD");
            assert_eq!(c.entry, c.segments[3].1, "entry is the purgatory");
            let t = Fdt::parse(&c.segments[2].0).unwrap();
            let chosen = t.node("/chosen").unwrap();
            assert_eq!(chosen.prop("bootargs").unwrap(), b"root=/dev/vda ro quiet\0");
            assert_eq!(be64(chosen.prop("linux,initrd-start").unwrap()), c.segments[1].1);
            assert!(fake.loaded);
        }

        #[test]
        fn lockdown_refuses_kexec_load_and_says_so() {
            let m = arm64_machine();
            m.write("/sys/kernel/security/lockdown", b"none [integrity] confidentiality\n");
            let mut fake = Fake { load_error: Some(Errno::ENOSYS), ..Fake::default() };
            let e = run(&m, &mut fake, Arch::Aarch64).unwrap_err().to_string();
            assert!(e.contains("locked down (integrity)") && e.contains("refuses kexec_load"), "{e}");
            assert!(fake.native_loads().is_empty());
            assert!(!fake.loaded);
        }

        #[test]
        fn x86_64_never_takes_the_native_path() {
            let m = arm64_machine();
            let mut fake = Fake { load_error: Some(Errno::ENOSYS), ..Fake::default() };
            assert!(matches!(run(&m, &mut fake, Arch::X86_64), Err(LoadError::NoKexecFile)));
            assert!(fake.native_loads().is_empty());
        }

        #[test]
        fn kexec_file_load_success_never_calls_kexec_load() {
            let m = arm64_machine();
            let mut fake = Fake::default();
            assert_eq!(run(&m, &mut fake, Arch::Aarch64).unwrap(), Syscall::KexecFileLoad);
            assert!(fake.native_loads().is_empty());
        }

        #[test]
        fn a_refused_kexec_load_is_explained_and_nothing_is_loaded() {
            let m = arm64_machine();
            m.write("/proc/sys/kernel/kexec_load_disabled", b"1\n");
            let mut fake =
                Fake { load_error: Some(Errno::ENOSYS), native_load_error: Some(Errno::EPERM), ..Fake::default() };
            assert!(matches!(run(&m, &mut fake, Arch::Aarch64), Err(LoadError::Disabled)));
            let mut fake = Fake {
                load_error: Some(Errno::ENOSYS),
                native_load_error: Some(Errno::EADDRNOTAVAIL),
                ..Fake::default()
            };
            assert!(matches!(run(&m, &mut fake, Arch::Aarch64), Err(LoadError::NativeSegments(_))));
            assert!(!fake.loaded);
        }

        #[test]
        fn a_garbage_kernel_or_hidden_memory_map_stops_before_the_syscall() {
            let m = arm64_machine();
            m.write("/boot/vmlinuz-6.1.0-9-amd64", [0x42; 8192]);
            let mut fake = Fake { load_error: Some(Errno::ENOSYS), ..Fake::default() };
            assert!(run(&m, &mut fake, Arch::Aarch64).unwrap_err().to_string().contains("not an arm64 Image"));
            let m = arm64_machine();
            m.write("/proc/iomem", b"00000000-00000000 : System RAM\n");
            let e = run(&m, &mut fake, Arch::Aarch64).unwrap_err().to_string();
            assert!(e.contains("as root"), "{e}");
            assert!(fake.native_loads().is_empty());
        }
    }
}
