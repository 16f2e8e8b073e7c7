#!/usr/bin/env bash
# sqlite3 databases written on A (rollback journal and WAL) pass
# integrity_check on C after close, with every row; a write on C is then
# read back on B.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3"; exit 77; }
N=$(scale 5000)
cluster_up

fill() { # db journal_mode
    {
        echo "PRAGMA journal_mode=$2;"
        echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB);"
        for ((batch = 0; batch < 10; batch++)); do
            echo "BEGIN;"
            for ((i = 0; i < N / 10; i++)); do
                echo "INSERT INTO t(v, b) VALUES('row-$batch-$i', randomblob(300));"
            done
            echo "COMMIT;"
        done
        echo "CREATE INDEX tv ON t(v);"
        echo "DELETE FROM t WHERE id % 7 = 0;"
    } | sqlite3 "$1" >/dev/null
}

check() { # db expected-rows
    [ "$(sqlite3 "$1" 'PRAGMA integrity_check;')" = ok ] || fail "integrity_check of $1"
    [ "$(sqlite3 "$1" 'SELECT count(*) FROM t;')" -eq "$2" ] || fail "row count of $1"
}

expect=$((N / 10 * 10 - N / 10 * 10 / 7))
step "rollback journal: written on A, checked on C"
fill "$(mnt a)/j.db" delete
check "$(mnt c)/j.db" "$expect"
step "WAL: written on A, checked on C"
fill "$(mnt a)/w.db" wal
check "$(mnt c)/w.db" "$expect"
step "a write on C, read on B"
sqlite3 "$(mnt c)/j.db" "INSERT INTO t(v) VALUES('from-c');" || fail "insert on C"
[ "$(sqlite3 "$(mnt b)/j.db" "SELECT count(*) FROM t WHERE v = 'from-c';")" = 1 ] ||
    fail "B does not see C's row"
check "$(mnt b)/j.db" $((expect + 1))
converge
finish
