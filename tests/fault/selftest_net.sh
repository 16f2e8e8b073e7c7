#!/usr/bin/env bash
# selftest_net.sh - proves the harness's faults really take effect, on three
# namespaces with a stand-in TCP/UDP echo service per node, and that the
# harness leaves nothing behind: after a clean run, after a failed check and
# after SIGTERM. Exit 77 (skip) without root, `ip netns` or nft.
set -u
. "$(dirname "$0")/lib/harness.sh"

NETTOOL="$FAULT_SRC_DIR/nettool.py"
FAILS=0

expect() { # expect WHAT CMD...: runs CMD, counts a failure if it fails
    local what=$1
    shift
    if "$@"; then echo "ok:   $what"; else echo "FAIL: $what"; FAILS=$((FAILS + 1)); fi
}

start_server() {
    local i=$1
    rm -f "$FAULT_RUNDIR/port.$i"
    SERVER[$i]=$(fault_spawn "$(fault_ns "$i")" "$FAULT_RUNDIR/server.$i.log" \
        "$FAULT_PY" "$NETTOOL" serve "$FAULT_RUNDIR/port.$i" "$FAULT_RUNDIR/udp.$i.log")
    fault_wait_for 10 test -s "$FAULT_RUNDIR/port.$i" || fault_die "server $i did not start"
    # The PID the faults act on must be the service itself, not a wrapper.
    grep -q nettool.py "/proc/${SERVER[$i]}/cmdline" || fault_die "PID ${SERVER[$i]} is not the service"
    PORT[$i]=$(cat "$FAULT_RUNDIR/port.$i")
}

tcp_ok() { # tcp_ok FROM TO [TIMEOUT]
    fault_exec "$1" "$FAULT_PY" "$NETTOOL" tcp "$(fault_addr "$2")" "${PORT[$2]}" "${3:-1}" |
        grep -q '"ok": true'
}
tcp_blocked() { ! tcp_ok "$@"; }

matrix() { # prints the reachability matrix, row = from
    local i j line
    for i in $(fault_nodes); do
        line="  from n$i:"
        for j in $(fault_nodes); do
            [ "$i" = "$j" ] && { line+=" -- "; continue; }
            if tcp_ok "$i" "$j" 0.5; then line+=" n$j+"; else line+=" n$j."; fi
        done
        echo "$line"
    done
}

udp_probe() { # udp_probe FROM TO N -> JSON
    fault_exec "$1" "$FAULT_PY" "$NETTOOL" udp "$(fault_addr "$2")" "${PORT[$2]}" "$3" 5
}

json_field() { "$FAULT_PY" -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
in_range() { "$FAULT_PY" -c "import sys; lo,v,hi=map(float,sys.argv[1:]); sys.exit(not lo<=v<=hi)" "$@"; }
write_fails_enospc() {
    local err
    err=$({ head -c 65536 /dev/urandom >"$1"; } 2>&1) && return 1
    [[ $err == *"No space left"* ]]
}
token_seen() { grep -qx "$2" "$FAULT_RUNDIR/udp.$1.log" 2>/dev/null; }

check_partitions() {
    echo "== baseline"; matrix
    for i in 0 1 2; do for j in 0 1 2; do
        [ "$i" = "$j" ] || expect "n$i reaches n$j" tcp_ok "$i" "$j"
    done; done
    echo "== isolate n0"; fault_isolate 0; matrix
    expect "n0 -> n1 cut" tcp_blocked 0 1 0.5
    expect "n2 -> n0 cut" tcp_blocked 2 0 0.5
    expect "n1 <-> n2 still up" tcp_ok 1 2
    fault_heal
    expect "healed: n0 -> n1" tcp_ok 0 1
    echo "== partition {0,1} | {2}"; fault_partition "0 1|2"; matrix
    expect "n0 -> n1 up" tcp_ok 0 1
    expect "n1 -> n2 cut" tcp_blocked 1 2 0.5
    fault_heal
    echo "== n2's link down"
    fault_link 2 down
    expect "link down: n0 -> n2 cut" tcp_blocked 0 2 0.5
    fault_link 2 up
    expect "link up: n0 -> n2 again" fault_wait_for 5 tcp_ok 0 2
}

check_asymmetric() {
    echo "== asymmetric: n0 cannot send to n1"
    fault_block 0 1
    fault_exec 0 "$FAULT_PY" "$NETTOOL" send "$(fault_addr 1)" "${PORT[1]}" "tok-0to1"
    fault_exec 1 "$FAULT_PY" "$NETTOOL" send "$(fault_addr 0)" "${PORT[0]}" "tok-1to0"
    expect "datagram n1 -> n0 arrives" fault_wait_for 3 token_seen 0 tok-1to0
    expect "datagram n0 -> n1 dropped" bash -c "! grep -qx tok-0to1 '$FAULT_RUNDIR/udp.1.log'"
    expect "n0 -> n2 unaffected" tcp_ok 0 2
    fault_heal
    fault_exec 0 "$FAULT_PY" "$NETTOOL" send "$(fault_addr 1)" "${PORT[1]}" "tok-0to1-healed"
    expect "healed: datagram n0 -> n1 arrives" fault_wait_for 3 token_seen 1 tok-0to1-healed
}

check_impair() {
    local base slow other after mode
    base=$(udp_probe 0 1 100)
    echo "== n0 -> n1 before impairment: $base"
    fault_impair 1 100 50 5 || fault_die "impair failed"
    mode=$(cut -d' ' -f1 "$FAULT_RUNDIR/impair.1")
    slow=$(udp_probe 0 1 300)
    other=$(udp_probe 0 2 100)
    echo "== n1's link at 100 ms ± 50 ms, 5% loss each way (via $mode): n0 -> n1 $slow"
    echo "== n0 -> n2 meanwhile: $other"
    expect "baseline p50 < 20 ms" in_range 0 "$(json_field "['rtt_ms']['p50']" <<<"$base")" 20
    expect "impaired p50 in 150..300 ms" in_range 150 "$(json_field "['rtt_ms']['p50']" <<<"$slow")" 300
    expect "impaired jitter p90-p10 >= 40 ms" in_range 40 \
        "$("$FAULT_PY" -c "import json,sys; r=json.loads(sys.argv[1])['rtt_ms']; print(r['p90']-r['p10'])" "$slow")" 300
    expect "impaired round-trip loss in 2..25 %" in_range 2 "$(json_field "['loss_pct']" <<<"$slow")" 25
    expect "other link p50 < 20 ms" in_range 0 "$(json_field "['rtt_ms']['p50']" <<<"$other")" 20
    fault_unimpair 1
    after=$(udp_probe 0 1 100)
    echo "== n0 -> n1 after removing it: $after"
    expect "restored p50 < 20 ms, no loss" in_range 0 "$(json_field "['rtt_ms']['p50'] + d['loss_pct']" <<<"$after")" 20
}

check_processes() {
    local old=${SERVER[2]}
    echo "== kill -9 n2's service (PID $old), then restart"
    fault_kill9 "$old"
    expect "PID $old is gone" fault_pid_gone "$old"
    expect "n0 -> n2 refused while down" tcp_blocked 0 2 0.5
    start_server 2
    expect "restarted as PID ${SERVER[2]} (new PID)" test "${SERVER[2]}" != "$old"
    expect "n0 -> n2 serves again" tcp_ok 0 2
    echo "== SIGSTOP n1's service (PID ${SERVER[1]})"
    fault_freeze "${SERVER[1]}"
    expect "PID ${SERVER[1]} is stopped" fault_pid_stopped "${SERVER[1]}"
    expect "frozen n1 does not answer" tcp_blocked 0 1 0.5
    fault_thaw "${SERVER[1]}"
    expect "SIGCONT: n1 answers again" tcp_ok 0 1 2
}

check_disk() {
    local d="$FAULT_RUNDIR/disk2"
    echo "== 8 MiB tmpfs data dir for n2, filled up"
    fault_tmpfs "$d" 8m
    expect "tmpfs filled" fault_fill "$d"
    expect "write on the full disk fails with ENOSPC" write_fails_enospc "$d/x"
    fault_unfill "$d"
    expect "write works after freeing" bash -c "head -c 65536 /dev/urandom > '$d/z'"
}

inner() {
    local mode=$1
    declare -ga SERVER=() PORT=()
    fault_begin 3
    fault_net_up || fault_die "topology setup failed"
    for i in $(fault_nodes); do start_server "$i"; done
    case $mode in
    full)
        check_partitions
        check_asymmetric
        check_impair
        check_processes
        check_disk
        echo "inner: $FAILS failed check(s)"
        [ "$FAILS" -eq 0 ]
        ;;
    fail) # a check fails with everything set up: cleanup must still run
        fault_partition "0|1 2"
        fault_impair 2 10 0 0
        fault_tmpfs "$FAULT_RUNDIR/disk0" 4m
        fault_freeze "${SERVER[0]}"
        fault_die "deliberate failure"
        ;;
    hold) # waits to be interrupted
        fault_tmpfs "$FAULT_RUNDIR/disk0" 4m
        fault_partition "0|1 2"
        echo ready >"$FAULT_STATEFILE.ready"
        while :; do sleep 0.2; done
        ;;
    esac
}

# outer_run MODE EXPECTED_RC: runs one inner harness and audits what it left.
outer_run() {
    local mode=$1 want=$2 dir rc prefix rundir pid
    dir=$(mktemp -d /tmp/qfault-selftest.XXXXXX)
    FAULT_STATEFILE=$dir/state FAULT_PIDLOG=$dir/pids "$0" inner "$mode" &
    pid=$!
    if [ "$mode" = hold ]; then
        fault_wait_for 60 test -e "$dir/state.ready" || echo "FAIL: hold run never got ready"
        kill -TERM "$pid"
    fi
    wait "$pid"
    rc=$?
    read -r prefix rundir <"$dir/state"
    echo "== run '$mode' (prefix $prefix) exited $rc; audit:"
    expect "run '$mode' exit status $want" test "$rc" = "$want"
    expect "run '$mode' left no namespace, mount, process or directory" \
        fault_leftovers "$prefix" "$rundir" "$dir/pids"
    expect "run '$mode' started processes (audit is not vacuous)" test -s "$dir/pids"
    rm -rf "$dir"
}

if [ "${1:-}" = inner ]; then
    inner "$2"
    exit
fi
fault_have_netns || { echo "SKIP: needs root, ip netns and nft"; exit 77; }
fault_build_dir >/dev/null || { echo "FAIL: netemu/lincheck not built (set QFS_FAULT_BUILD)"; exit 1; }
outer_run full 0
outer_run fail 1
outer_run hold 143
echo "selftest_net: $FAILS failed check(s)"
[ "$FAILS" -eq 0 ]
