#!/usr/bin/env bash
# sqlite3: 10,000 inserts (rollback journal and WAL, which needs shared
# mmap of the -shm file), integrity_check, and again after a remount.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3"; exit 77; }
qfs_mount
N=$(scale 10000)

fill() { # db journal_mode
    {
        echo "PRAGMA journal_mode=$2;"
        echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB);"
        for ((batch = 0; batch < 10; batch++)); do
            echo "BEGIN;"
            for ((i = 0; i < N / 10; i++)); do
                echo "INSERT INTO t(v, b) VALUES('row-$batch-$i', randomblob(200));"
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
step "rollback journal"
fill "$MNT/a.db" delete
check "$MNT/a.db" "$expect"
step "WAL"
fill "$MNT/b.db" wal
check "$MNT/b.db" "$expect"
step "after remount"
qfs_remount
check "$MNT/a.db" "$expect"
check "$MNT/b.db" "$expect"
qfs_umount || fail "unclean exit"
echo "ok"
