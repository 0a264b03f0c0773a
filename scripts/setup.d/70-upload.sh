#!/bin/bash
# upload tests: ca-certificates (the system CA bundle the client trusts by
# default), openssl (the tests make a CA and a server certificate), curl (the
# peer of the benchmark), and the independent multipart parser the test
# server checks bodies with (PyPI `multipart`, pinned).
set -euo pipefail
apt-get install -y -qq -o DPkg::Lock::Timeout=600 ca-certificates openssl curl >/dev/null
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore multipart==2.0.1
