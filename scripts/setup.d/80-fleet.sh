#!/bin/bash
# Tools of the fleet check: ansible-core runs the playbooks against
# the QEMU guest, ansible-lint judges contrib/ansible; both from PyPI, pinned,
# in a venv under the cache so they neither touch the system Python nor get
# downloaded again. openssh-client is how ansible reaches the guest.
set -euo pipefail
cd "$(dirname "$0")/../.."
ANSIBLE_CORE_VERSION=2.19.14 # newest ansible-core that pip offers for Python 3.11
ANSIBLE_LINT_VERSION=26.10.1
VENV=$(python3 tests/vm/harness.py path fleet/venv)

apt-get install -y -qq -o DPkg::Lock::Timeout=600 openssh-client python3-venv >/dev/null

have() { "$VENV/bin/python" -m pip show "$1" 2>/dev/null | grep -qx "Version: $2"; }
if ! have ansible-core "$ANSIBLE_CORE_VERSION" || ! have ansible-lint "$ANSIBLE_LINT_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        "ansible-core==$ANSIBLE_CORE_VERSION" "ansible-lint==$ANSIBLE_LINT_VERSION"
fi
