//! The hand-over to the loaded kernel: through systemd, or a clean shutdown of
//! kexec-chooser's own for machines without systemd.
