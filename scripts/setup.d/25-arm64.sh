#!/bin/bash
# What the arm64 proof (tests/vm/arm64.py) needs on the host: the aarch64
# emulator, the musl target to cross-build the guest binary (linked with the
# rust-lld that ships with rustup), and the arm64 architecture in dpkg so that
# `apt-get download` finds the arm64 kernels, busybox and kexec-tools, which
# the VM test itself fetches into its cache.
set -euo pipefail
# gcc-aarch64-linux-gnu compiles the C and assembly of ring (rustls) for the
# cross-built guest binary (its binutils strip it); the Rust side links with
# rust-lld.
apt-get install -y -qq -o DPkg::Lock::Timeout=600 qemu-system-arm cpio gcc-aarch64-linux-gnu >/dev/null
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null
fi
if command -v rustup >/dev/null; then
    rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-musl \
        || rustup target add aarch64-unknown-linux-musl >/dev/null 2>&1
fi
