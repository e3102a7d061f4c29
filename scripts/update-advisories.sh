#!/usr/bin/env bash
# Refreshes the vendored RustSec advisory snapshot (deny/advisory-db/) that `cargo deny check`
# reads offline in scripts/test.sh (the test machines reach crates.io but not GitHub).
#
#     scripts/update-advisories.sh                 # clones github.com/rustsec/advisory-db
#     scripts/update-advisories.sh PATH_TO_GIT_DIR # a clone or bare mirror already on the machine
#
# Only the advisories of crates named in Cargo.lock are kept, so run it again after adding a
# dependency, and at least every few months: scripts/test.sh fails once the snapshot is older than
# `maximum-db-staleness` in deny.toml. Commit the result (the snapshot's commit and date are in
# deny/advisory-db/SNAPSHOT).
set -euo pipefail
cd "$(dirname "$0")/.."

SOURCE=${1:-}
if [ -z "$SOURCE" ]; then
    SOURCE=$(mktemp -d -t advisory-db.XXXXXX)
    trap 'rm -rf "$SOURCE"' EXIT
    git clone --quiet --depth 1 https://github.com/rustsec/advisory-db "$SOURCE"
fi
GIT=(git --git-dir "$SOURCE")
[ -d "$SOURCE/.git" ] && GIT=(git -C "$SOURCE")

OUT=deny/advisory-db
rm -rf "$OUT"
mkdir -p "$OUT/crates"
count=0
for name in $(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.lock | sort -u); do
    files=$("${GIT[@]}" ls-tree --name-only "HEAD:crates/$name" 2>/dev/null || true)
    [ -n "$files" ] || continue
    mkdir -p "$OUT/crates/$name"
    for file in $files; do
        "${GIT[@]}" show "HEAD:crates/$name/$file" > "$OUT/crates/$name/$file"
        count=$((count + 1))
    done
done
"${GIT[@]}" show HEAD:LICENSE.txt > "$OUT/LICENSE.txt"
{
    echo "commit $("${GIT[@]}" rev-parse HEAD)"
    echo "date $("${GIT[@]}" show -s --format=%cI HEAD)"
} > "$OUT/SNAPSHOT"
echo "$count advisories for the crates of Cargo.lock in $OUT ($(head -n1 "$OUT/SNAPSHOT"))"
