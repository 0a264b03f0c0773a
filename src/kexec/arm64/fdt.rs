//! A small flattened device tree (DTB) reader and writer, enough to take the
//! running kernel's tree (/sys/firmware/fdt), edit `/chosen` and write a new
//! blob for the next kernel. Format: devicetree-specification v0.4, chapter 5
//! (header 5.2, memory reservation block 5.3, structure block 5.4, strings
//! block 5.5); every value is big endian. Written here rather than taken from
//! a crate: the maintained ones (`fdt`, `vm-fdt`) read or write but not both,
//! and the format is a few dozen lines each way.

/// 5.2: `magic` of every blob.
const MAGIC: u32 = 0xd00d_feed;
/// 5.2: the header is ten 32-bit fields.
const HEADER_LEN: usize = 40;
/// The version this writer produces and the oldest it can be read as (5.2).
const VERSION: u32 = 17;
const LAST_COMP_VERSION: u32 = 16;
/// 5.4.1 structure block tokens.
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;
/// Nesting deeper than this is taken as a corrupt blob (real trees are < 10).
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FdtError {
    #[error("not a device tree blob (magic {0:#x}, want 0xd00dfeed)")]
    BadMagic(u32),
    #[error("device tree blob truncated: {what} at offset {offset} lies past the end")]
    Truncated { what: &'static str, offset: usize },
    #[error("device tree version {0} is older than 16, which this reader needs")]
    TooOld(u32),
    #[error("device tree structure block: unexpected token {token:#x} at offset {offset}")]
    BadToken { token: u32, offset: usize },
    #[error("device tree structure block: a name at offset {0} has no terminating NUL")]
    UnterminatedName(usize),
    #[error("device tree nests deeper than {MAX_DEPTH} nodes")]
    TooDeep,
    #[error("device tree is too large to write")]
    TooLarge,
}

/// One node: its name (`name@unit`, empty for the root), properties in order,
/// children in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub props: Vec<(String, Vec<u8>)>,
    pub children: Vec<Node>,
}

impl Node {
    #[cfg(test)]
    pub fn prop(&self, name: &str) -> Option<&[u8]> {
        self.props.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// Set `name` to `value`, replacing it in place or adding it at the end.
    pub fn set_prop(&mut self, name: &str, value: Vec<u8>) {
        match self.props.iter_mut().find(|(n, _)| n == name) {
            Some(p) => p.1 = value,
            None => self.props.push((name.to_string(), value)),
        }
    }

    pub fn remove_prop(&mut self, name: &str) {
        self.props.retain(|(n, _)| n != name);
    }

    #[cfg(test)]
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The child `name`, created empty when missing.
    #[allow(clippy::indexing_slicing)]
    pub fn child_mut_or_new(&mut self, name: &str) -> &mut Node {
        let i = match self.children.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                self.children.push(Node { name: name.to_string(), ..Node::default() });
                self.children.len().saturating_sub(1)
            }
        };
        // `i` is a valid index: found above, or the one just pushed.
        &mut self.children[i]
    }
}

/// A whole blob: memory reservations, the boot CPU and the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fdt {
    pub reservations: Vec<(u64, u64)>,
    pub boot_cpuid_phys: u32,
    pub root: Node,
}

struct Reader<'a> {
    b: &'a [u8],
}

impl Reader<'_> {
    fn u32(&self, offset: usize, what: &'static str) -> Result<u32, FdtError> {
        let end = offset.checked_add(4).ok_or(FdtError::Truncated { what, offset })?;
        let s = self.b.get(offset..end).ok_or(FdtError::Truncated { what, offset })?;
        let mut a = [0u8; 4];
        a.copy_from_slice(s);
        Ok(u32::from_be_bytes(a))
    }

    fn u64(&self, offset: usize, what: &'static str) -> Result<u64, FdtError> {
        let hi = self.u32(offset, what)?;
        let lo = self.u32(offset.checked_add(4).ok_or(FdtError::Truncated { what, offset })?, what)?;
        Ok(u64::from(hi) << 32 | u64::from(lo))
    }

    fn bytes(&self, offset: usize, len: usize, what: &'static str) -> Result<&[u8], FdtError> {
        let end = offset.checked_add(len).ok_or(FdtError::Truncated { what, offset })?;
        self.b.get(offset..end).ok_or(FdtError::Truncated { what, offset })
    }

    /// A NUL-terminated string starting at `offset`, and its length without the NUL.
    fn cstr(&self, offset: usize) -> Result<(&str, usize), FdtError> {
        let rest = self.b.get(offset..).ok_or(FdtError::Truncated { what: "name", offset })?;
        let len = rest.iter().position(|&c| c == 0).ok_or(FdtError::UnterminatedName(offset))?;
        let s = rest.get(..len).ok_or(FdtError::UnterminatedName(offset))?;
        Ok((std::str::from_utf8(s).map_err(|_| FdtError::UnterminatedName(offset))?, len))
    }
}

fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|x| x & !3)
}

fn to_usize(v: u32) -> usize {
    // u32 always fits in usize on the 32- and 64-bit targets this builds for.
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl Fdt {
    /// Parse a blob; never panics, whatever the bytes.
    pub fn parse(b: &[u8]) -> Result<Fdt, FdtError> {
        let r = Reader { b };
        let magic = r.u32(0, "header")?;
        if magic != MAGIC {
            return Err(FdtError::BadMagic(magic));
        }
        r.bytes(0, HEADER_LEN, "header")?;
        let total = to_usize(r.u32(4, "header")?);
        let r = Reader { b: b.get(..total).ok_or(FdtError::Truncated { what: "totalsize", offset: total })? };
        let off_struct = to_usize(r.u32(8, "header")?);
        let off_strings = to_usize(r.u32(12, "header")?);
        let off_rsv = to_usize(r.u32(16, "header")?);
        let version = r.u32(20, "header")?;
        if version < 16 {
            return Err(FdtError::TooOld(version));
        }
        let boot_cpuid_phys = r.u32(28, "header")?;
        let size_strings = to_usize(r.u32(32, "header")?);
        let strings = r.bytes(off_strings, size_strings, "strings block")?;
        let strings = Reader { b: strings };

        let mut reservations = Vec::new();
        let mut at = off_rsv;
        loop {
            let addr = r.u64(at, "memory reservation")?;
            let size = r.u64(at.checked_add(8).ok_or(FdtError::TooLarge)?, "memory reservation")?;
            at = at.checked_add(16).ok_or(FdtError::TooLarge)?;
            if addr == 0 && size == 0 {
                break;
            }
            reservations.push((addr, size));
        }

        // The structure block: a stack of open nodes.
        let mut stack: Vec<Node> = Vec::new();
        let mut root: Option<Node> = None;
        let mut at = off_struct;
        loop {
            let token = r.u32(at, "structure token")?;
            let here = at;
            at = at.checked_add(4).ok_or(FdtError::TooLarge)?;
            match token {
                BEGIN_NODE => {
                    if root.is_some() {
                        return Err(FdtError::BadToken { token, offset: here });
                    }
                    let (name, len) = r.cstr(at)?;
                    at = align4(at.checked_add(len).and_then(|x| x.checked_add(1)).ok_or(FdtError::TooLarge)?)
                        .ok_or(FdtError::TooLarge)?;
                    if stack.len() >= MAX_DEPTH {
                        return Err(FdtError::TooDeep);
                    }
                    stack.push(Node { name: name.to_string(), ..Node::default() });
                }
                END_NODE => {
                    let node = stack.pop().ok_or(FdtError::BadToken { token, offset: here })?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => root = Some(node),
                    }
                }
                PROP => {
                    let len = to_usize(r.u32(at, "property")?);
                    let nameoff = to_usize(r.u32(at.checked_add(4).ok_or(FdtError::TooLarge)?, "property")?);
                    at = at.checked_add(8).ok_or(FdtError::TooLarge)?;
                    let value = r.bytes(at, len, "property value")?.to_vec();
                    at = align4(at.checked_add(len).ok_or(FdtError::TooLarge)?).ok_or(FdtError::TooLarge)?;
                    let (name, _) = strings.cstr(nameoff)?;
                    let node = stack.last_mut().ok_or(FdtError::BadToken { token, offset: here })?;
                    node.props.push((name.to_string(), value));
                }
                NOP => {}
                END if stack.is_empty() => break,
                _ => return Err(FdtError::BadToken { token, offset: here }),
            }
        }
        let root = root.ok_or(FdtError::BadToken { token: END, offset: at })?;
        Ok(Fdt { reservations, boot_cpuid_phys, root })
    }

    /// Write the blob: header, reservations, structure, strings (each property
    /// name stored once).
    pub fn to_bytes(&self) -> Result<Vec<u8>, FdtError> {
        let mut st: Vec<u8> = Vec::new();
        let mut strings: Vec<u8> = Vec::new();
        let mut offsets: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        write_node(&self.root, &mut st, &mut strings, &mut offsets, 0)?;
        st.extend_from_slice(&END.to_be_bytes());

        let mut rsv: Vec<u8> = Vec::new();
        for (a, s) in self.reservations.iter().chain(std::iter::once(&(0, 0))) {
            rsv.extend_from_slice(&a.to_be_bytes());
            rsv.extend_from_slice(&s.to_be_bytes());
        }
        // 5.3: the reservation block is 8-byte aligned; the header is 40 bytes.
        let off_rsv = HEADER_LEN;
        let off_struct = off_rsv.checked_add(rsv.len()).ok_or(FdtError::TooLarge)?;
        let off_strings = off_struct.checked_add(st.len()).ok_or(FdtError::TooLarge)?;
        let total = off_strings.checked_add(strings.len()).ok_or(FdtError::TooLarge)?;
        let u = |n: usize| u32::try_from(n).map_err(|_| FdtError::TooLarge);
        let mut out = Vec::with_capacity(total);
        for v in [
            MAGIC,
            u(total)?,
            u(off_struct)?,
            u(off_strings)?,
            u(off_rsv)?,
            VERSION,
            LAST_COMP_VERSION,
            self.boot_cpuid_phys,
            u(strings.len())?,
            u(st.len())?,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&rsv);
        out.extend_from_slice(&st);
        out.extend_from_slice(&strings);
        Ok(out)
    }

    /// The node at `path` (`/chosen`), if there is one.
    #[cfg(test)]
    pub fn node(&self, path: &str) -> Option<&Node> {
        path.split('/').filter(|p| !p.is_empty()).try_fold(&self.root, |n, p| n.child(p))
    }
}

fn pad4(v: &mut Vec<u8>) {
    while v.len() % 4 != 0 {
        v.push(0);
    }
}

fn write_node<'a>(
    n: &'a Node,
    st: &mut Vec<u8>,
    strings: &mut Vec<u8>,
    offsets: &mut std::collections::HashMap<&'a str, u32>,
    depth: usize,
) -> Result<(), FdtError> {
    if depth >= MAX_DEPTH {
        return Err(FdtError::TooDeep);
    }
    st.extend_from_slice(&BEGIN_NODE.to_be_bytes());
    st.extend_from_slice(n.name.as_bytes());
    st.push(0);
    pad4(st);
    for (name, value) in &n.props {
        let off = match offsets.get(name.as_str()) {
            Some(o) => *o,
            None => {
                let o = u32::try_from(strings.len()).map_err(|_| FdtError::TooLarge)?;
                strings.extend_from_slice(name.as_bytes());
                strings.push(0);
                offsets.insert(name, o);
                o
            }
        };
        st.extend_from_slice(&PROP.to_be_bytes());
        st.extend_from_slice(&u32::try_from(value.len()).map_err(|_| FdtError::TooLarge)?.to_be_bytes());
        st.extend_from_slice(&off.to_be_bytes());
        st.extend_from_slice(value);
        pad4(st);
    }
    for c in &n.children {
        write_node(c, st, strings, offsets, depth.saturating_add(1))?;
    }
    st.extend_from_slice(&END_NODE.to_be_bytes());
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small tree like QEMU virt's: memory, chosen with a stale seed and
    /// crash-kernel properties, a node with a unit address.
    pub(crate) fn sample() -> Fdt {
        Fdt {
            reservations: vec![(0x4800_0000, 0x1000)],
            boot_cpuid_phys: 0,
            root: Node {
                name: String::new(),
                props: vec![
                    ("#address-cells".into(), 2u32.to_be_bytes().to_vec()),
                    ("compatible".into(), b"linux,dummy-virt\0".to_vec()),
                ],
                children: vec![
                    Node {
                        name: "memory@40000000".into(),
                        props: vec![
                            ("device_type".into(), b"memory\0".to_vec()),
                            ("reg".into(), [0u8, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0].to_vec()),
                        ],
                        children: vec![],
                    },
                    Node {
                        name: "chosen".into(),
                        props: vec![
                            ("bootargs".into(), b"console=ttyAMA0 old\0".to_vec()),
                            ("kaslr-seed".into(), vec![0; 8]),
                            ("linux,elfcorehdr".into(), vec![1; 16]),
                            ("linux,usable-memory-range".into(), vec![2; 16]),
                            ("stdout-path".into(), b"/pl011@9000000\0".to_vec()),
                        ],
                        children: vec![],
                    },
                ],
            },
        }
    }

    #[test]
    fn a_written_tree_parses_back_equal() {
        let t = sample();
        let b = t.to_bytes().unwrap();
        assert_eq!(Fdt::parse(&b).unwrap(), t);
        assert_eq!(&b[0..4], &MAGIC.to_be_bytes());
        assert_eq!(b.len(), u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize);
    }

    #[test]
    fn property_names_are_stored_once() {
        let mut t = sample();
        t.root.children[0].set_prop("compatible", b"x\0".to_vec());
        let b = t.to_bytes().unwrap();
        assert_eq!(b.windows(11).filter(|w| w == b"compatible\0").count(), 1);
    }

    #[test]
    fn node_paths_and_property_edits() {
        let mut t = sample();
        assert!(t.node("/chosen").unwrap().prop("bootargs").is_some());
        assert!(t.node("/nothing").is_none());
        let c = t.root.child_mut_or_new("chosen");
        c.remove_prop("kaslr-seed");
        c.set_prop("new", vec![7]);
        assert_eq!(t.node("/chosen").unwrap().props.len(), 5);
        t.root.child_mut_or_new("aliases");
        assert!(t.node("/aliases").is_some());
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let b = sample().to_bytes().unwrap();
        for n in 0..b.len() {
            assert!(Fdt::parse(&b[..n]).is_err(), "truncated at {n}");
        }
        // Flip every byte of the header and structure block in turn.
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0xff;
            let _ = Fdt::parse(&c);
        }
        assert_eq!(Fdt::parse(&[0; 64]), Err(FdtError::BadMagic(0)));
    }

    #[test]
    fn nop_tokens_are_skipped() {
        let t = sample();
        let mut b = t.to_bytes().unwrap();
        // Replace the final END with NOP END, growing the blob by 4 bytes.
        let off_strings = u32::from_be_bytes([b[12], b[13], b[14], b[15]]) as usize;
        b.splice(off_strings - 4..off_strings - 4, NOP.to_be_bytes());
        let total = b.len() as u32;
        b[4..8].copy_from_slice(&total.to_be_bytes());
        b[12..16].copy_from_slice(&(off_strings as u32 + 4).to_be_bytes());
        assert_eq!(Fdt::parse(&b).unwrap(), t);
    }
}
