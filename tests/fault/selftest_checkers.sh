#!/usr/bin/env bash
# selftest_checkers.sh - the workload and every checker against stand-in
# "nodes" that are plain local directories: one directory shared by all
# nodes must pass every checker; stand-ins that never replicate, that lose
# acknowledged writes, or that hang must be caught by the checkers meant to
# catch them (and only those). Needs no root.
set -u
. "$(dirname "$0")/lib/harness.sh"
fault_build_dir >/dev/null || { echo "FAIL: lincheck not built (set QFS_FAULT_BUILD)"; exit 1; }

DUR=${QFS_FAULT_SELFTEST_SECONDS:-3}
W=$(mktemp -d /tmp/qfault-checkers.XXXXXX)
FAILS=0
# Kept for inspection when an expectation fails.
trap '[ "$FAILS" -eq 0 ] && rm -rf "$W" || echo "selftest_checkers: outputs kept in $W"' EXIT

workload() { # workload NAME TIMEOUT MOUNT...
    local name=$1 timeout=$2 m mounts
    shift 2
    for m in "$@"; do "$FAULT_PY" "$FAULT_SRC_DIR/workload.py" setup "$m"; done
    mounts=$(IFS=,; echo "$*")
    "$FAULT_PY" "$FAULT_SRC_DIR/workload.py" run --mounts "$mounts" --out "$W/$name.jsonl" \
        --clients 4 --duration "$DUR" --timeout "$timeout" --seed "${#name}"
}

checks() { # checks NAME MOUNT...: runs every checker, prints their lines
    local name=$1
    shift
    echo "-- checkers on stand-in '$name':"
    "$FAULT_SRC_DIR/check_all.sh" "$W/$name.jsonl" "$W/$name.out" "$@" | sed 's/^/   /'
}

expect_verdicts() { # expect_verdicts NAME checker=pass|fail ...
    local name=$1 kv got
    shift
    for kv in "$@"; do
        got=$(grep "^check_${kv%=*}=" "$W/$name.out/results" | cut -d= -f2)
        if [ "$got" = "${kv#*=}" ]; then
            echo "ok:   $name: ${kv%=*} -> $got, as it must"
        else
            echo "FAIL: $name: ${kv%=*} -> ${got:-not run}, but must ${kv#*=}"
            FAILS=$((FAILS + 1))
        fi
    done
}

echo "== shared: 3 nodes x 4 clients on one directory"
workload shared 5 "$W/shared" "$W/shared" "$W/shared"
checks shared "$W/shared" "$W/shared" "$W/shared"
expect_verdicts shared nohang=pass lost=pass converge=pass cto=pass lincheck=pass
grep -h '^required=' "$W/shared.out/results" | sed 's/^/   (non-vacuous: /; s/$/ writes checked at the end)/'

echo "== split: every node its own directory, nothing replicates"
workload split 5 "$W/split0" "$W/split1" "$W/split2"
checks split "$W/split0" "$W/split1" "$W/split2"
expect_verdicts split nohang=pass lost=fail converge=fail cto=fail lincheck=fail

echo "== lossy: one shared directory, then acknowledged writes rolled back"
workload lossy 5 "$W/lossy" "$W/lossy" "$W/lossy"
"$FAULT_PY" "$FAULT_SRC_DIR/sabotage.py" lose "$W/lossy.jsonl" "$W/lossy" 3 | sed 's/^/   /'
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "FAIL: lossy: the sabotage lost nothing"; FAILS=$((FAILS + 1)); }
checks lossy "$W/lossy" "$W/lossy" "$W/lossy"
expect_verdicts lossy nohang=pass lost=fail converge=pass cto=pass lincheck=pass

echo "== hang: one shared directory where some opens block forever (FIFOs)"
"$FAULT_PY" "$FAULT_SRC_DIR/sabotage.py" fifos "$W/hang" "$DUR" >"$W/fifos.log" &
sab=$!
mkdir -p "$W/hang/d0" "$W/hang/d1" "$W/hang/d2"
workload hang 1 "$W/hang" "$W/hang" "$W/hang"
wait "$sab"
sed 's/^/   /' "$W/fifos.log"
checks hang "$W/hang" "$W/hang" "$W/hang"
expect_verdicts hang nohang=fail

echo "selftest_checkers: $FAILS failed expectation(s)"
[ "$FAILS" -eq 0 ]
