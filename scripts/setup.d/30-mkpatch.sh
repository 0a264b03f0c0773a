#!/bin/bash
# Tools the mkpatch tests drive for real: Mercurial (with its bundled mq
# extension, enabled by the tests' own HGRCPATH) and Git. Missing tools make
# those tests fail rather than skip, so install both.
set -euo pipefail
if command -v hg >/dev/null && command -v git >/dev/null; then
    exit 0
fi
apt-get install -y -qq -o DPkg::Lock::Timeout=600 mercurial git >/dev/null
