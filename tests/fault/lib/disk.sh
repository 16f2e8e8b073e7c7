# shellcheck shell=bash
# disk.sh - size-limited data directories and a disk that fills up
# (sourced by harness.sh). Every mount is recorded for fault_cleanup.

# fault_tmpfs DIR SIZE: mounts a tmpfs of SIZE (e.g. 64m) at DIR.
fault_tmpfs() {
    mkdir -p "$1" || return 1
    mount -t tmpfs -o "size=$2,mode=0755" qfault-tmpfs "$1" || return 1
    echo "$1" >>"$FAULT_RUNDIR/mounts"
}

# fault_fill DIR: writes DIR/.qfault-fill until the filesystem is full.
fault_fill() {
    dd if=/dev/zero of="$1/.qfault-fill" bs=1M status=none 2>/dev/null
    local avail
    avail=$(df --output=avail -B1 "$1" | tail -1)
    [ "$avail" -lt 1048576 ]
}

fault_unfill() { rm -f "$1/.qfault-fill"; }
