#!/usr/bin/env bash
# Builds a small C program with make inside the mount, runs it, rebuilds
# after an edit (make relies on mtimes), and make clean.
. "$(dirname "$0")/lib.sh"
qfs_mount
mkdir "$MNT/prog"
cd "$MNT/prog"
cat >greet.h <<'C'
const char *greeting(void);
C
cat >greet.c <<'C'
#include "greet.h"
const char *greeting(void) { return "hello from quorumfs"; }
C
cat >main.c <<'C'
#include <stdio.h>
#include "greet.h"
int main(void) { puts(greeting()); return 0; }
C
printf 'prog: main.o greet.o\n\tcc -o $@ $^\n%%.o: %%.c greet.h\n\tcc -c -o $@ $<\nclean:\n\trm -f prog *.o\n' >Makefile
make -s
[ "$(./prog)" = "hello from quorumfs" ] || fail "program output"
make -q || fail "make thinks an up-to-date tree is stale"
sed -i 's/hello from quorumfs/edited/' greet.c
make -s
[ "$(./prog)" = edited ] || fail "make did not rebuild after an edit"
[ -x prog ] || fail "prog not executable"
make -s clean
[ ! -e prog ] || fail "make clean"
cd /
qfs_umount || fail "unclean exit"
echo "ok"
