//! Fuzz the GRUB readers: `grub.cfg`, `grubenv` (read and edited, its size
//! kept), and resolving a default value against the parsed menu must never
//! panic on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

use kexec_chooser::boot::grub;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (cfg_text, env_text) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let cfg = grub::parse_cfg(cfg_text);
    let env = grub::parse_env(env_text.as_bytes());
    if let Ok(mut block) = kexec_chooser::boot::grubenv::Env::parse(env_text.as_bytes()) {
        let size = block.as_bytes().len();
        let _ = block.set("next_entry", cfg_text);
        let _ = block.delete("saved_entry");
        assert_eq!(block.as_bytes().len(), size, "an edit changed the block's size");
    }
    let value = grub::default_value(&cfg, &env);
    let _ = grub::resolve(&cfg.items, &value);
});
