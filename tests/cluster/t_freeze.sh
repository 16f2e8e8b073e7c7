#!/usr/bin/env bash
# A frozen node (SIGSTOP) does not stop the other two; once thawed it
# converges. A node alone (the other two frozen) answers mutations with
# EROFS within seconds, never hangs, and keeps serving reads (the first one
# may be proposed before c notices it is alone: then ETIMEDOUT, outcome
# unknown); once the others
# thaw its mutations work again and all three converge.
. "$(dirname "$0")/lib.sh"
EROFS_SECS=$([ "$SANITIZED" = 1 ] && echo 20 || echo 10)
cluster_up
mkdir "$(mnt a)/w"
echo "read me" >"$(mnt a)/w/keep"
wait_until "$SYNC_SECS" exists_on w/keep b c || fail "w/keep is not seen on b and c"

step "freeze c; a and b keep writing"
node_freeze c
writer_start a wa
writer_start b wb
wait_until "$SYNC_SECS" acks_above wa 5 || fail "writes on a stall while c is frozen"
wait_until "$SYNC_SECS" acks_above wb 5 || fail "writes on b stall while c is frozen"
writer_stop wa
writer_stop wb
step "thaw c: it converges"
kill -CONT "${PID[c]}"
converge
verify_acked wa c
verify_acked wb c

step "freeze a and b: c alone"
node_freeze a b
t0=$(date +%s.%N)
if out=$(timeout $((EROFS_SECS + 5)) "$PY" "$OP" create-excl "$(mnt c)/w/alone" 2>&1); then
    # Seen once in CI (before node_freeze waited for the stop), never
    # reproduced: were a and b really stopped (T), and
    # what did c believe? Then fail.
    ps -o pid=,stat=,comm= -p "${PID[a]}" "${PID[b]}" "${PID[c]}" >&2
    timeout 5 "$QFS_CLI" status --json -c "$(conf c)" >&2
    fail "a create on c alone succeeded"
fi
t=$(echo "$(date +%s.%N) - $t0" | bc)
case $out in EROFS | ETIMEDOUT) ;; *) fail "a create on c alone gave '$out', not EROFS (after $t s)" ;; esac
echo "$out after $t s"
[ "$(echo "$t < $EROFS_SECS" | bc)" = 1 ] || fail "$out took $t s"
expect_err EROFS timeout "$EROFS_SECS" "$PY" "$OP" mkdir "$(mnt c)/w/dir"
# A content commit fails as fast (no chunk push to wait for), and a reader's
# close beside a failing writer reports nothing: the writer's close does.
t0=$(date +%s.%N)
out=$(timeout "$EROFS_SECS" "$PY" "$OP" reader-beside-writer "$(mnt c)/w/keep" 2>&1) &&
    fail "an append on c alone was committed"
echo "reader-beside-writer: $(echo "$out" | tr '\n' ' ')after $(echo "$(date +%s.%N) - $t0" | bc) s"
[ "$out" = "$(printf 'reader-ok\nEROFS')" ] || fail "reader and writer on c alone gave '$out'"
step "c alone still reads"
timeout 10 ls "$(mnt c)/w" >/dev/null || fail "readdir on c alone failed"
timeout 10 stat "$(mnt c)/w/wa-0" >/dev/null || fail "stat on c alone failed"
[ "$(timeout 10 cat "$(mnt c)/w/keep")" = "read me" ] || defer_fail "a read of w/keep on c alone failed"

step "thaw a and b: c writes again, all converge"
kill -CONT "${PID[a]}" "${PID[b]}"
wait_until "$SYNC_SECS" "$PY" "$OP" create-excl "$(mnt c)/w/after" ||
    fail "c still refuses mutations after the others thawed"
converge
finish
