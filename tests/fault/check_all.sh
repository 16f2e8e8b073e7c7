#!/usr/bin/env bash
# check_all.sh - runs every checker on one history and the nodes' trees.
#
#   check_all.sh HISTORY OUTDIR MOUNT0 MOUNT1 ...
#
# QFS_FAULT_NOHANG_EXEMPT: windows of deliberately frozen nodes (see
# check_nohang.py); QFS_FAULT_NODE_STARTS: node (re)start times (hist2lin.py);
# QFS_FAULT_CUTOFF: windows of nodes cut off from the leader, whose reads
# are not judged (scenarios.sh, scn_cut); QFS_FAULT_FROZEN: windows in which
# a node's daemon was certainly stopped (hist2lin.py). Each checker's output goes to
# OUTDIR/<checker>.txt; OUTDIR/results gets
# their RESULT key=value lines plus check_<name>=pass|fail. Prints one line
# per checker; exits 1 if any failed.
set -u
. "$(dirname "$0")/lib/harness.sh"

hist=$1 out=$2
shift 2
mkdir -p "$out"
: >"$out/results"
failed=0
# A checker reading a hung mount must not hang the run.
T=(timeout "${QFS_FAULT_CHECK_TIMEOUT:-600}")

check() { # check NAME CMD...
    local name=$1 verdict=pass
    shift
    "$@" >"$out/$name.txt" 2>&1 || verdict=fail
    [ "$verdict" = pass ] || failed=1
    grep '^RESULT ' "$out/$name.txt" | cut -d' ' -f2- | tr ' ' '\n' >>"$out/results"
    echo "check_$name=$verdict" >>"$out/results"
    printf '%-5s %-9s %s\n' "${verdict^^}" "$name" "$(grep -v '^RESULT ' "$out/$name.txt" | tail -1)"
}

cutoff=()
[ -e "${QFS_FAULT_CUTOFF:-}" ] && cutoff=(--cutoff "$QFS_FAULT_CUTOFF")

lincheck_hist() {
    local opts=()
    [ -e "${QFS_FAULT_NODE_STARTS:-}" ] && opts=(--starts "$QFS_FAULT_NODE_STARTS")
    [ -e "${QFS_FAULT_FROZEN:-}" ] && opts+=(--frozen "$QFS_FAULT_FROZEN")
    "${T[@]}" "$FAULT_PY" "$FAULT_SRC_DIR/hist2lin.py" "${opts[@]}" "${cutoff[@]}" "$hist" "$out/lin.txt" &&
        "${T[@]}" "$(fault_build_dir)/lincheck" "$out/lin.txt"
}

exempt=()
[ -s "${QFS_FAULT_NOHANG_EXEMPT:-}" ] && exempt=(--exempt-file "$QFS_FAULT_NOHANG_EXEMPT")
check nohang "${T[@]}" "$FAULT_PY" "$FAULT_SRC_DIR/check_nohang.py" "${exempt[@]}" "$hist"
check lost "${T[@]}" "$FAULT_PY" "$FAULT_SRC_DIR/check_lost.py" "$hist" "$@"
check converge "${T[@]}" "$FAULT_PY" "$FAULT_SRC_DIR/check_converge.py" "$@"
check cto "${T[@]}" "$FAULT_PY" "$FAULT_SRC_DIR/check_cto.py" "${cutoff[@]}" "$hist"
check lincheck lincheck_hist
check ocreat "${T[@]}" "$FAULT_PY" "$FAULT_SRC_DIR/check_ocreat.py" "$hist"
exit $failed
