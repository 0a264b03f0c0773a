#!/bin/bash
# Benchmark: `kexec-chooser mkpatch` side by side with the command it replaces,
# on a repository of 500 files with a patch touching 50 of them:
#   Mercurial: `hg qdiff > FILE`   (what the original's author typed by hand)
#   Git:       `git diff --binary $(git merge-base @{upstream} HEAD) > FILE`
# mkpatch is measured saving a new file (its directory removed before each
# run) and finding the patch identical to a saved one (the steady state).
# Also the peak RSS of one run of each. Run by hand: bash benches/mkpatch/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v hyperfine >/dev/null || apt-get install -y -qq -o DPkg::Lock::Timeout=600 hyperfine
command -v hg >/dev/null || apt-get install -y -qq -o DPkg::Lock::Timeout=600 mercurial
cargo build --release --locked --bin kexec-chooser
BIN="$PWD/target/release/kexec-chooser"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
export HOME="$W/home" HGRCPATH="$W/hgrc" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
printf '[extensions]\nmq =\n[ui]\nusername = Bench <b@example.invalid>\n' >"$HGRCPATH"
git config --global user.name Bench && git config --global user.email b@example.invalid

fill() {  # 500 files of 200 lines
    for d in $(seq 0 9); do
        mkdir -p "$1/d$d"
        for f in $(seq 0 49); do seq -f "line %g of d$d/f$f" 1 200 >"$1/d$d/f$f.txt"; done
    done
}
touch50() {  # change 5 lines in 50 files
    for d in $(seq 0 9); do for f in 0 1 2 3 4; do
        sed -i '10s/$/ changed/;50s/$/ changed/;100s/$/ changed/;150s/$/ changed/;199s/$/ changed/' "$1/d$d/f$f.txt"
    done; done
}

mkdir "$W/hgup" && fill "$W/hgup" && (cd "$W/hgup" && hg init && hg commit -qAm init)
hg clone -q "$W/hgup" "$W/hg" && (cd "$W/hg" && hg qnew bug1) && touch50 "$W/hg"
mkdir "$W/gitup" && fill "$W/gitup" && (cd "$W/gitup" && git init -q -b main && git add . && git commit -qm init)
git clone -q "$W/gitup" "$W/git" && (cd "$W/git" && git checkout -q -b bug1 --track origin/main) && touch50 "$W/git"

(cd "$W/hg" && "$BIN" mkpatch --patchdir "$W/steady" -- --git >/dev/null)
(cd "$W/git" && "$BIN" mkpatch --patchdir "$W/steady" >/dev/null)

cd "$W/hg"
hyperfine --warmup 3 --runs 30 --export-json "$W/hg.json" \
    --prepare true --prepare "rm -rf $W/new" --prepare true \
    "hg qdiff --git > $W/peer.patch" \
    "$BIN mkpatch --patchdir $W/new -- --git" \
    "$BIN mkpatch --patchdir $W/steady -- --git"
cd "$W/git"
hyperfine --warmup 5 --runs 100 --export-json "$W/git.json" \
    --prepare true --prepare "rm -rf $W/new" --prepare true \
    "git diff --binary \$(git merge-base @{upstream} HEAD) > $W/peer.patch" \
    "$BIN mkpatch --patchdir $W/new" \
    "$BIN mkpatch --patchdir $W/steady"

# Peak RSS (GNU time: the largest of the process and the children it waited
# for, so mkpatch's figure includes the hg/git it runs).
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
cd "$W/hg"
echo "peak RSS (KiB) hg qdiff: $(rss hg qdiff --git)  mkpatch: $(rss "$BIN" mkpatch --patchdir "$W/steady" -- --git)"
cd "$W/git"
echo "peak RSS (KiB) git diff: $(rss git diff --binary origin/main)  mkpatch: $(rss "$BIN" mkpatch --patchdir "$W/steady")"
python3 - "$W/hg.json" "$W/git.json" <<'PY'
import json, sys
for f in sys.argv[1:]:
    r = json.load(open(f))["results"]
    base = r[0]["mean"]
    for x in r:
        print(f"{x['command'][:70]:70s} mean {x['mean']*1000:8.2f} ms  ratio to peer {x['mean']/base:5.2f}")
PY
