#!/usr/bin/env bash
# qfs against a real 3-node cluster on 127.0.0.1: in sync on every node of a
# fresh cluster; degraded (one peer paused with SIGSTOP) and back; no quorum
# (two peers paused): exit 2 from status, wait-sync and per-path status, and
# back in sync after SIGCONT; a node paused, then one stopped and restarted,
# while 200 MiB were written:
# catching up and its file waiting for chunks, counts down to zero, in sync;
# a conflict from two writers, listed everywhere and resolved. Every --json
# document validated.
. "$(dirname "$0")/lib_status.sh"

cluster_up
C7=$(node_id c | cut -c1-7)
B7=$(node_id b | cut -c1-7)

step "a fresh cluster: every member connected, every node in sync"
# each node dials the larger IDs with backoff (up to 1 s), so one node seeing
# both peers says nothing of the link between the other two: poll all three
for n in a b c; do
    poll_rc 0 20 qfs peers -c "$(conf "$n")"
    [ "$(grep -c ' connected ' "$T/out")" -eq 2 ] || fail "peers of $n: $(cat "$T/out")"
done
mkdir "$T/a/mnt/dir1"
for n in a b c; do
    expect_rc 0 qfs wait-sync -c "$(conf "$n")" --timeout 10
    [ -d "$T/$n/mnt/dir1" ] || fail "dir1 not on $n after wait-sync"
    expect_rc 0 qfs status -c "$(conf "$n")"
    [ "$(head -n1 "$T/out")" = "in sync" ] || fail "$n: $(cat "$T/out")"
    expect_rc 0 qfs status -c "$(conf "$n")" --json
    validate status '(d["verdict"], d["cluster"]["single_node"], len(d["cluster"]["members"]), d["consensus"]["leader"] is not None)' \
        "('in_sync', False, 3, True)"
    # the highest ballot seen, on a follower too (it showed 0 on a node
    # that had never been a candidate)
    validate status 'd["consensus"]["ballot"] > 0' "True"
done
expect_rc 0 qfs peers -c "$(conf b)" --json
validate peers '[m["connected"] for m in d["members"]]' "[True, True, True]"
expect_rc 0 qfs status "$T/b/mnt/dir1" # found through b's mount

step "one peer paused: degraded, naming it; back in sync after SIGCONT"
node_pause c
# (if c led, a's read index times out until a or b is elected: "catching up
# (commit index unknown ...)", exit 1, meanwhile)
poll_out "^degraded \(peers down: $C7\)\$" 10 qfs status -c "$(conf a)"
expect_rc 1 qfs status -c "$(conf a)"
expect_rc 1 qfs peers -c "$(conf a)"
grep -q "^$C7 .* down " "$T/out" || fail "peers: $(cat "$T/out")"
expect_rc 1 qfs status -c "$(conf a)" --json
validate status 'd["verdict"], d["exit_code"]' "('degraded', 1)"
mkdir "$T/a/mnt/dir2" # a majority is still there
# a commit waits for b only; its chunks stay owed to c, and a says so
head -c $((4 << 20)) /dev/urandom >"$T/a/mnt/owed.bin"
expect_rc 1 qfs peers -c "$(conf a)" --json
python3 - "$T/out" "$C7" <<'PY' || fail "a does not show the chunks it owes c: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
c = [m for m in d["members"] if m["id"].startswith(sys.argv[2])][0]
assert c["push_chunks"] > 0 and c["push_bytes"] >= 4 << 20, c
print("a owes c %d chunks, %d bytes" % (c["push_chunks"], c["push_bytes"]))
PY
kill -CONT "${NODE_PID[c]}"
poll_rc 0 20 qfs status -c "$(conf a)"
poll_rc 0 20 qfs status -c "$(conf c)" # c learns it is back in a majority
expect_rc 0 qfs wait-sync -c "$(conf c)" --timeout 20 "$T/c/mnt"
[ -d "$T/c/mnt/dir2" ] || fail "dir2 not on c after wait-sync"
cmp "$T/a/mnt/owed.bin" "$T/c/mnt/owed.bin" || fail "owed.bin differs on c"
owes_nothing() {
    qfs peers -c "$(conf a)" --json | python3 -c 'import json, sys
sys.exit(any(m["push_chunks"] or m["push_bytes"] for m in json.load(sys.stdin)["members"]))'
}
poll_rc 0 20 owes_nothing

step "two peers paused: no quorum, exit 2 everywhere; in sync after SIGCONT"
node_pause b c
poll_rc 2 10 qfs status -c "$(conf a)"
grep -q "^no quorum (mutations refused; peers down: " "$T/out" || fail "verdict: $(head -n1 "$T/out")"
grep -q "$B7" "$T/out" || fail "b not named: $(head -n1 "$T/out")"
expect_rc 2 qfs status -c "$(conf a)" --json
validate status 'd["verdict"], d["exit_code"], d["consensus"]["quorum"]' "('no_quorum', 2, False)"
expect_rc 2 qfs wait-sync -c "$(conf a)" --timeout 2
grep -q "no quorum" "$T/err" || fail "wait-sync: $(cat "$T/err")"
expect_rc 2 qfs status "$T/a/mnt/dir1"
expect_rc 0 qfs metrics -c "$(conf a)"
grep -qx 'qfs_quorum 0' "$T/out" || fail "metrics: $(grep quorum "$T/out")"
kill -CONT "${NODE_PID[b]}" "${NODE_PID[c]}"
for n in a b c; do
    poll_rc 0 20 qfs status -c "$(conf "$n")"
    expect_rc 0 qfs wait-sync -c "$(conf "$n")" --timeout 20
done

# sample_catch_up FILE: samples node c's status and FILE's (relative to the
# mounts) as fast as c answers until both are in sync, then checks what the
# samples show: catching up with chunks missing, the count going down once
# every command is applied, never "in sync" before the end. With "restart",
# a node that fetched the whole (small, under ASan) file while it still said
# degraded or no quorum only has to end in sync with the file intact.
sample_catch_up() {
    local f=$1 mode=${2:-} i=0 rc prc k
    rm -rf "$T/samples"
    mkdir -p "$T/samples"
    while :; do
        i=$((i + 1))
        rc=0
        qfs status -c "$(conf c)" --json >"$T/samples/$i.node.json" 2>/dev/null || rc=$?
        prc=0
        qfs status -c "$(conf c)" --json "$T/c/mnt/$f" >"$T/samples/$i.path.json" 2>/dev/null || prc=$?
        [ "$rc" -eq 0 ] && [ "$prc" -eq 0 ] && break
        [ "$i" -lt 3000 ] || fail "c not in sync after $i samples: $(cat "$T/samples/$i.node.json")"
    done
    python3 - "$T/samples" "$i" "$mode" <<'PY' || fail "catching up was not seen going down to in sync"
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
def load(p):
    try:
        return json.load(open(p))
    except ValueError:
        return None  # c was not answering yet (starting, or no quorum right after SIGCONT)
nodes = [load(os.path.join(d, "%d.node.json" % k)) for k in range(1, n + 1)]
paths = [load(os.path.join(d, "%d.path.json" % k)) for k in range(1, n + 1)]
catching = [x for x in nodes if x and x["verdict"] == "catching_up"]
waiting = [p for p in paths if p and p["paths"][0]["state"] in ("waiting", "not_applied")]
answered = [x for x in nodes if x]
# never "in sync" before the end (c missed the whole file)
assert all(x["verdict"] != "in_sync" for x in nodes[:-1] if x), "in sync too early"
if not any(x["sync"]["missing_chunks"] for x in catching):
    # the node got the whole file before it said "catching up" with chunks
    # missing: a restarted node may fetch all of a small file (ASan, 20 MiB)
    # while it still reports its peers down or no quorum, before it reaches
    # both; a paused one keeps its connections across the pause (since
    # session 27) and at loopback speed may take in even 200 MiB while it
    # still says no quorum: CI saw both once in session 28 (ASan: "nothing
    # was ever missing"; normal build: no sample said catching up at all).
    # Most runs see the count go down (5-51 samples catching up locally; one
    # had 2,765 of its 3,300 chunks by its first sample).
    verdicts = [x["verdict"] for x in answered]
    assert set(verdicts[:-1]) <= {"degraded", "no_quorum", "catching_up"}, verdicts
    assert verdicts[-1] == "in_sync", verdicts
    print("%d samples, never missing chunks: %s" % (n, " ".join(verdicts)))
    sys.exit(0)
assert catching, "no sample said catching up"
assert max(x["sync"]["missing_chunks"] for x in catching) > 0, "nothing was ever missing"
assert waiting, "the file was never reported waiting for chunks"
# once every command is applied, the count only goes down
applied = [x["sync"]["missing_chunks"] for x in nodes
           if x and x["consensus"]["read_index"] is not None and x["sync"]["commands_to_apply"] == 0]
assert all(a >= b for a, b in zip(applied, applied[1:])), "missing chunks grew: %s" % applied
assert nodes[-1]["verdict"] == "in_sync" and nodes[-1]["sync"]["missing_chunks"] == 0
assert paths[-1]["paths"][0]["state"] == "in_sync"
w = waiting[0]["paths"][0]
print("%d samples: catching up in %d, first per-path sample waiting: %s (%d of %d chunks missing), max missing %d" % (
    n, len(catching), w["state"], w["missing_chunks"], w["chunks"],
    max(x["sync"]["missing_chunks"] for x in catching)))
PY
    cp "$T/samples/$i.node.json" "$T/out"
    validate status 'd["verdict"]' "in_sync"
    for k in $(seq 1 "$i"); do
        if grep -q '"catching_up"' "$T/samples/$k.node.json" 2>/dev/null; then
            cp "$T/samples/$k.node.json" "$T/out"
            validate status 'd["verdict"]' "catching_up"
            break
        fi
    done
    cmp "$T/a/mnt/$f" "$T/c/mnt/$f" || fail "$f differs on c"
}

MIB=$(scale 200)
step "a node paused while $MIB MiB were written: catching up, counts down to zero, in sync"
node_pause c
head -c $((MIB << 20)) /dev/urandom >"$T/a/mnt/big.bin"
kill -CONT "${NODE_PID[c]}"
sample_catch_up big.bin
rm -f "$T/a/mnt/big.bin"

step "a node stopped while $MIB MiB were written, then restarted: the same, from its own store"
node_restart c eval 'head -c $((MIB << 20)) /dev/urandom >"$T/a/mnt/big2.bin"'
sample_catch_up big2.bin restart
rm -f "$T/a/mnt/big2.bin"

step "two writers at once: the conflict is listed on every node, then resolved"
A7=$(node_id a | cut -c1-7)
echo base >"$T/a/mnt/doc.txt"
# both write before either closes (a shell's redirections would flush a's
# write before b's starts: sequential, no conflict); a commits first, so b's
# commit finds a's: a's version becomes the copy, b's keeps the name
python3 - "$T/a/mnt/doc.txt" "$T/b/mnt/doc.txt" <<'PY' || fail "two writers"
import os, sys
a = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
b = os.open(sys.argv[2], os.O_WRONLY | os.O_TRUNC)
os.write(a, b"from a\n")
os.write(b, b"from b\n")
os.close(a)
os.close(b)
PY
for n in a b c; do
    expect_rc 0 qfs wait-sync -c "$(conf "$n")" --timeout 20
    expect_rc 0 qfs conflicts -c "$(conf "$n")" --json
    validate conflicts '(d["count"], d["conflicts"][0]["original"], d["conflicts"][0]["writer"], d["conflicts"][0]["other"])' \
        "(1, '/doc.txt', '$B7', '$A7')"
done
run_rc rc qfs status -c "$(conf c)"
grep -q "^conflicts  1, newest:" "$T/out" || fail "status on c: $(cat "$T/out")"
run_rc rc qfs status "$T/a/mnt/doc.txt"
grep -q "conflicted (copy: doc.conflict-[0-9]*-[0-9]*-$A7.txt)" "$T/out" || fail "per path: $(cat "$T/out")"
expect_rc 0 qfs conflicts --resolve original "$T/a/mnt/doc.txt"
for n in a b c; do
    expect_rc 0 qfs wait-sync -c "$(conf "$n")" --timeout 20
    expect_rc 0 qfs conflicts -c "$(conf "$n")"
    grep -qx "no conflicts" "$T/out" || fail "conflict still listed on $n: $(cat "$T/out")"
    ls "$T/$n/mnt" | grep -q conflict && fail "copy still on $n: $(ls "$T/$n/mnt")"
done

step "every --json document against the schema"
validate_all
echo PASS
