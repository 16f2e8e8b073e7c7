#!/usr/bin/env bash
# One node's data disk fills up (its data directory is a 64 MiB tmpfs, filled
# by another file) while the others write. The others go on; on the full
# node nothing hangs: a mutation either succeeds or fails at once (ENOSPC:
# it cannot apply; EROFS: its engine cannot save), and reads answer from
# what it has. Once the disk has room again it catches up by itself and all
# three converge. The daemon's log stays short (failures are rate-limited).
. "$(dirname "$0")/lib.sh"
FAST_SECS=3 # far below the 3 s + lookups a proposal waiting for its apply took
mkdir -p "$(data c)"
mount -t tmpfs -o size=64m qfs-ct-full "$(data c)" || fail "cannot mount a tmpfs"
AFTER_HOOKS+=("umount '$(data c)'")
cluster_up
mkdir "$(mnt a)/w"
echo "read me" >"$(mnt a)/w/keep"
wait_until "$SYNC_SECS" test -f "$(mnt c)/w/keep" || fail "w/keep not on c"

step "fill c's disk; a and b keep writing"
dd if=/dev/zero of="$(data c)/filler" bs=1M status=none 2>/dev/null || true
[ "$(df --output=avail -B1 "$(data c)" | tail -n 1)" -lt $((1 << 20)) ] || fail "c's disk not full"
lines0=$(wc -l <"$(log c)")
# (if c led, its engine stops at its next save and a or b takes over: a write
# meanwhile may fail, so each is retried)
write_big() { head -c $((1 << 20)) /dev/urandom >"$(mnt a)/w/big$1"; }
write_small() { echo "small $1" >"$(mnt b)/w/small$1"; }
for i in $(seq 1 "$(scale 20)"); do
    wait_until "$SYNC_SECS" write_big "$i" || fail "writes on a stopped"
    wait_until "$SYNC_SECS" write_small "$i" || fail "writes on b stopped"
done

step "c: mutations answer at once, reads work"
for i in 1 2 3; do
    t0=$(date +%s.%N)
    out=$(timeout 20 "$PY" "$OP" mkdir "$(mnt c)/w/dir$i" 2>&1) || true
    t=$(echo "$(date +%s.%N) - $t0" | bc)
    case $out in "" | ENOSPC | EROFS) ;; *) fail "mkdir on full c gave '$out' after $t s" ;; esac
    echo "mkdir on full c: ${out:-ok} after $t s"
    [ "$(echo "$t < $FAST_SECS" | bc)" = 1 ] || fail "mkdir on full c took $t s"
done
t0=$(date +%s.%N)
[ "$(timeout 20 cat "$(mnt c)/w/keep")" = "read me" ] || fail "a read on full c failed"
timeout 20 ls "$(mnt c)/w" >/dev/null || fail "readdir on full c failed"
t=$(echo "$(date +%s.%N) - $t0" | bc)
[ "$(echo "$t < $FAST_SECS" | bc)" = 1 ] || fail "reads on full c took $t s"

step "free c's disk: it catches up by itself"
rm -f "$(data c)/filler"
converge
# c's engine comes back at its next restart (back-off up to 5 s): EROFS until then.
write_after() { echo "after" >"$(mnt c)/w/after"; }
wait_until "$SYNC_SECS" write_after || fail "a write on c after freeing failed for ${SYNC_SECS}s"
converge
lines=$(($(wc -l <"$(log c)") - lines0))
echo "c logged $lines lines while full and catching up; the first ones:"
tail -n "$lines" "$(log c)" | head -n 12 | cut -c1-200
[ "$lines" -lt 300 ] || fail "c logged $lines lines: $(sort "$(log c)" | uniq -c | sort -rn | head -5)"
finish
