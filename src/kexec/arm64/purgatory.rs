//! The purgatory: the few instructions the arm64 kernel jumps to after
//! `reboot(LINUX_REBOOT_CMD_KEXEC)` has copied the segments into place. With
//! `kexec_load` the kernel enters the new image with x0 = 0 (its own
//! `arch.dtb_mem` is only set by kexec_file_load; arch/arm64/kernel/
//! relocate_kernel.S), while booting.rst section 4 wants x0 = the device
//! tree's physical address and x1..x3 = 0. So the entry point is this code,
//! which sets the registers and branches to the kernel. The MMU is off here,
//! so the two 64-bit literals sit 8-byte aligned (the segment is page aligned).
//!
//! The machine code is committed as words, each with its encoding explained
//! (ARM DDI 0487, C6.2: LDR (literal), ORR (shifted register), BR); a unit
//! test decodes the words and checks they say what the comments say.

/// Offset of the device-tree address literal in the purgatory.
#[cfg(test)]
pub const DTB_LITERAL: usize = 24;
/// Offset of the kernel entry literal.
#[cfg(test)]
pub const ENTRY_LITERAL: usize = 32;
/// Total length: six instructions and two 64-bit literals.
pub const LEN: usize = 40;

/// The six instructions, little endian in memory.
pub const CODE: [u32; 6] = [
    // 0x00: ldr x0, #24      -> x0 = [pc + 24] (the dtb address)
    //       LDR (literal, 64-bit): 0101_1000 | imm19 = 24/4 = 6 << 5 | Rt = 0
    0x5800_00c0,
    // 0x04: mov x1, xzr      (orr x1, xzr, xzr): sf=1 opc=01 01010 shift=00 N=0
    //       Rm=31 imm6=0 Rn=31 Rd=1
    0xaa1f_03e1,
    // 0x08: mov x2, xzr      Rd=2
    0xaa1f_03e2,
    // 0x0c: mov x3, xzr      Rd=3
    0xaa1f_03e3,
    // 0x10: ldr x4, #16      -> x4 = [pc + 16] (the kernel entry); imm19 = 4, Rt = 4
    0x5800_0084,
    // 0x14: br x4            1101011_0000_11111_000000 | Rn = 4 << 5 | 00000
    0xd61f_0080,
];

/// The purgatory with its two literals filled in.
pub fn build(dtb: u64, kernel_entry: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(LEN);
    for w in CODE {
        out.extend_from_slice(&w.to_le_bytes());
    }
    // 0x18: .quad dtb   0x20: .quad kernel_entry
    out.extend_from_slice(&dtb.to_le_bytes());
    out.extend_from_slice(&kernel_entry.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder for exactly the instruction classes the purgatory uses,
    /// written from the architecture manual independently of the table above.
    fn decode(w: u32, pc: usize) -> String {
        // LDR (literal), 64-bit variant: opc=01 011 V=0 00 imm19 Rt.
        if w >> 24 == 0b0101_1000 {
            let imm19 = (w >> 5) & 0x7ffff;
            let rt = w & 31;
            return format!("ldr x{rt}, [{:#x}]", pc + 4 * imm19 as usize);
        }
        // ORR (shifted register), 64-bit, LSL #0: sf=1 01 01010 00 0 Rm imm6 Rn Rd.
        if w >> 21 == 0b101_0101_0000 && (w >> 10) & 63 == 0 {
            let (rm, rn, rd) = ((w >> 16) & 31, (w >> 5) & 31, w & 31);
            if rn == 31 {
                let src = if rm == 31 { "xzr".to_string() } else { format!("x{rm}") };
                return format!("mov x{rd}, {src}");
            }
        }
        // BR: 1101011 0000 11111 000000 Rn 00000.
        if w & 0xffff_fc1f == 0xd61f_0000 {
            return format!("br x{}", (w >> 5) & 31);
        }
        format!("unknown {w:#010x}")
    }

    #[test]
    fn purgatory_decodes_to_what_its_comments_say() {
        let code = build(0, 0);
        let words: Vec<String> = code[..24]
            .chunks(4)
            .enumerate()
            .map(|(i, c)| decode(u32::from_le_bytes(c.try_into().unwrap()), i * 4))
            .collect();
        assert_eq!(
            words,
            [
                format!("ldr x0, [{DTB_LITERAL:#x}]"),
                "mov x1, xzr".to_string(),
                "mov x2, xzr".to_string(),
                "mov x3, xzr".to_string(),
                format!("ldr x4, [{ENTRY_LITERAL:#x}]"),
                "br x4".to_string(),
            ]
        );
    }

    #[test]
    fn literals_hold_the_addresses_aligned() {
        let p = build(0x4800_0000, 0x4020_0000);
        assert_eq!(p.len(), LEN);
        assert_eq!(DTB_LITERAL % 8, 0);
        assert_eq!(ENTRY_LITERAL % 8, 0);
        assert_eq!(u64::from_le_bytes(p[DTB_LITERAL..DTB_LITERAL + 8].try_into().unwrap()), 0x4800_0000);
        assert_eq!(u64::from_le_bytes(p[ENTRY_LITERAL..ENTRY_LITERAL + 8].try_into().unwrap()), 0x4020_0000);
    }

    #[test]
    fn the_decoder_rejects_what_is_not_ours() {
        assert_eq!(decode(0xd503_201f, 0), "unknown 0xd503201f"); // nop
        assert_eq!(decode(0xd65f_03c0, 0), "unknown 0xd65f03c0"); // ret
    }
}
