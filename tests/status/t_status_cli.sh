#!/usr/bin/env bash
# qfs's front door without a daemon: usage errors exit 3, --help states the
# exit codes, a node that is not running is one line saying how to start it
# (exit 2), and `qfs status --watch` redraws in place inside tmux.
. "$(dirname "$0")/lib_status.sh"

step "usage errors exit 3, with a message"
for bad in "" "frobnicate" "status --bogus" "status --watch x" "status --interval 0" \
    "wait-sync --timeout x" "wait-sync --timeout -1" "peers extra" "metrics extra" \
    "conflicts --resolve maybe x" "conflicts --resolve copy" "conflicts extra"; do
    # shellcheck disable=SC2086
    expect_rc 3 qfs $bad
    [ -s "$T/err" ] || fail "'qfs $bad' printed no message"
done
expect_rc 3 qfs status "$T/no-such-file"
grep -q "no-such-file" "$T/err" || fail "missing path not named: $(cat "$T/err")"

step "--help states the exit codes; every command has --help"
expect_rc 0 qfs --help
for code in "0  in sync" "1  not in sync" "2  no quorum, or the daemon is unreachable" "3  usage error"; do
    grep -q "$code" "$T/out" || fail "--help lacks '$code'"
done
for c in status peers wait-sync conflicts metrics; do
    expect_rc 0 qfs "$c" --help
    grep -q "usage: qfs $c" "$T/out" || fail "qfs $c --help"
done

step "no daemon: one line saying so and how to start it, exit 2"
mkdir -p "$DATA"
expect_rc 2 qfs status --data "$DATA"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
grep -q "no quorumfs daemon is running for $DATA; start it with: quorumfs --data $DATA MOUNTPOINT" "$T/err" ||
    fail "message: $(cat "$T/err")"
qfs init --data "$T/node" --listen 127.0.0.1:1 >/dev/null 2>&1
expect_rc 2 qfs peers -c "$T/node/node.conf"
grep -q "start it with: quorumfs -c $T/node/node.conf MOUNTPOINT" "$T/err" ||
    fail "with a config: $(cat "$T/err")"
expect_rc 2 env QFS_DATA="$DATA" "$QFS_TOOL" wait-sync --timeout 1
expect_rc 3 qfs status -c "$T/no-such.conf"

step "--watch redraws in place inside tmux, NO_COLOR respected, Ctrl-C quits"
command -v tmux >/dev/null || fail "tmux is not installed (tools/install-deps installs it)"
qfs_mount_ctl
SOCK=$T/tmux.sock
CLEANUP_HOOKS+=("tmux -S $SOCK kill-server 2>/dev/null")
tmux -S "$SOCK" new-session -d -x 100 -y 30 \
    "cd $MNT && NO_COLOR=1 $QFS_TOOL status --watch --interval 0.2; echo EXITED \$? >$T/watch.rc; sleep 60"
screen() { tmux -S "$SOCK" capture-pane -p -e; }
# poll (deadline 10 s each) for a first frame, then for a later one (the clock
# in the header changes): the second must have replaced the first
head1=
for _ in $(seq 200); do
    head1=$(screen | head -n1)
    [[ $head1 == *"qfs status --watch"* ]] && break
    "$QFS_WAIT" exit "$QFS_PID" 0.05 && fail "daemon exited"
done
for _ in $(seq 200); do
    s=$(screen)
    head=$(head -n1 <<<"$s")
    [[ $head == *"qfs status --watch"* && $head != "$head1" ]] && break
    "$QFS_WAIT" exit "$QFS_PID" 0.05 && fail "daemon exited"
done
[ "$head" != "$head1" ] || fail "the screen was not refreshed: $s"
[[ $head == *"qfs status --watch"* ]] || fail "no watch header on screen: $s"
[ "$(sed -n 2p <<<"$s")" = "in sync" ] || fail "second line is not the verdict: $s"
[ "$(grep -c "qfs status --watch" <<<"$s")" -eq 1 ] || fail "frames stacked, not redrawn: $s"
grep -q $'\033\\[3[0-9]m' <<<"$s" && fail "colour despite NO_COLOR: $s"
# -J joins what tmux wrapped: the node line (a 63-character ID) must fit 80 columns
node_line=$(tmux -S "$SOCK" capture-pane -p -J | grep '^node ')
[ -n "$node_line" ] && [ ${#node_line} -le 80 ] || fail "node line missing or over 80 columns: '$node_line'"
echo "---- the screen in tmux ----"
sed 's/[[:space:]]*$//' <<<"$s" | sed '/^$/d'
echo "----"
tmux -S "$SOCK" send-keys C-c
for _ in $(seq 200); do
    [ -s "$T/watch.rc" ] && break
    "$QFS_WAIT" exit "$QFS_PID" 0.05 && fail "daemon exited"
done
[ "$(cat "$T/watch.rc")" = "EXITED 0" ] || fail "watch after Ctrl-C: $(cat "$T/watch.rc" 2>/dev/null)"
tmux -S "$SOCK" kill-server
echo PASS
