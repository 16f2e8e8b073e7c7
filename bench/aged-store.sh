#!/usr/bin/env bash
# bench/aged-store.sh [BUILD_DIR] - the chunk store aging benchmark.
# In one run, for the piece layout quorumfs uses (pieces of 16 overflow pages),
# for 4- and 1-page pieces, and for a naive reference (one LMDB value per chunk, a
# multi-page overflow run of its own size each): write the live
# set into a fresh store, then write and delete CHURN x the live set in files
# of mixed sizes (1 KiB .. 32 MiB, log-uniform; deleting a file deletes its
# chunks, as GC does), then alternate put batches between the aged store and
# a brand-new one (same disk drift for both) and compare median put MB/s.
# Prints a table with aged/fresh (target >= 0.8) and file/live (target
# <= 1.5), plus chunker and SHA-256 MB/s and cold-cache get MB/s.
# Environment: QFS_AGED_LIVE_MIB (default 512), QFS_AGED_CHURN (10),
#   QFS_AGED_STRESS=1 (also random single-chunk deletes: the worst case),
#   QFS_BENCH_DIR (parent of the scratch dir, default /var/tmp: the data disk).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
BIN=$build/bench/store/bench-store
[ -x "$BIN" ] || { echo "missing $BIN: build first (ninja -C $build)" >&2; exit 1; }
LIVE=${QFS_AGED_LIVE_MIB:-512}
CHURN=${QFS_AGED_CHURN:-10}
W=$(mktemp -d "${QFS_BENCH_DIR:-/var/tmp}/qfs-aged.XXXXXX")
trap 'rm -rf "$W"' EXIT

# key=value lines -> one table row: layout fresh aged ratio live file ratio get
row() {
    awk -v name="$1" '/^layout=/ {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%-22s %9s %9s %10s %9s %9s %9s %8s\n", name, v["fresh_put_mbs"],
            v["aged_put_mbs"], v["aged_over_fresh"], v["live_mib"], v["file_mib"],
            v["file_over_live"], v["get_mbs"] }'
}

cpu=$("$BIN" cpu)
echo "chunk store aging: live ${LIVE} MiB, churn ${CHURN}x, files of 1 KiB..32 MiB, dir $W"
printf "%-22s %9s %9s %10s %9s %9s %9s %8s\n" layout "fresh" "aged" "aged/fresh" \
    "live MiB" "file MiB" "file/live" "get"
printf "%-22s %9s %9s %10s %9s %9s %9s %8s\n" "" "put MB/s" "put MB/s" ">= 0.8" \
    "" "" "<= 1.5" "MB/s"
cold=""
run() { # layout deletes label
    local out
    out=$("$BIN" aging "$1" "$W/$1-$2" "$LIVE" "$CHURN" "$2")
    rm -rf "${W:?}/$1-$2"
    echo "$out" | row "$3"
    cold+=$(echo "$out" | grep '^cold' | tr '\n' ' ' || true)
}
run pieces files "16-page pieces (ours)"
run pieces4 files "4-page pieces"
run pieces1 files "1-page pieces"
run naive files "one value/chunk (ref)"
if [ "${QFS_AGED_STRESS:-0}" = 1 ]; then
    run pieces chunks "16-page, chunk deletes"
    run pieces4 chunks "4-page, chunk deletes"
    run pieces1 chunks "1-page, chunk deletes"
    run naive chunks "1 value, chunk deletes"
fi
echo "$cpu" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "chunker (FastCDC): %s MB/s, mean chunk %s KiB; SHA-256 (EVP): %s MB/s\n",
        v["chunker_mbs"], v["chunker_avg_kib"], v["sha256_mbs"] }'
[ -n "$cold" ] && echo "cold-cache random gets (pieces): $cold"
exit 0
