# shellcheck shell=bash
# net.sh - the namespace topology and the network faults (sourced by
# harness.sh). Partitions are nftables DROP rules in the node namespaces
# (table inet qfault); delay and loss are `tc netem` on both ends of a
# node's link, or the netemu relay when the kernel has no sch_netem.

fault_net_up() {
    local hub i
    hub=$(fault_hub)
    ip netns add "$hub" || return 1
    ip -n "$hub" link set lo up
    ip -n "$hub" link add br0 type bridge || return 1
    ip -n "$hub" link set br0 up
    for i in $(fault_nodes); do
        fault_node_net_up "$i" || return 1
    done
}

fault_node_net_up() {
    local i=$1 ns hub
    ns=$(fault_ns "$i")
    hub=$(fault_hub)
    ip netns add "$ns" || return 1
    fault_nsenter "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip -n "$ns" link set lo up
    ip -n "$hub" link add "n$i" type veth peer name eth0 netns "$ns" || return 1
    ip -n "$hub" link set "n$i" master br0 up
    ip -n "$ns" addr add "$(fault_addr "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    fault_nsenter "$ns" nft -f - <<'NFT' || return 1
table inet qfault {
    chain input { type filter hook input priority 0; policy accept; }
}
NFT
}

# fault_block I J: packets from node I to node J vanish (one direction).
# The rule sits on J's input, so I's sends succeed and are silently lost,
# as on a broken network (an output rule would give I an immediate EPERM).
fault_block() {
    fault_exec "$2" nft add rule inet qfault input ip saddr "$(fault_addr "$1")" drop
}

# fault_partition "0 1|2": no traffic between nodes of different groups.
fault_partition() {
    local spec=$1 groups g h i j
    IFS='|' read -r -a groups <<<"$spec"
    for g in "${!groups[@]}"; do
        for h in "${!groups[@]}"; do
            [ "$g" != "$h" ] || continue
            for i in ${groups[$g]}; do
                for j in ${groups[$h]}; do
                    fault_block "$i" "$j" || return 1
                done
            done
        done
    done
}

# fault_isolate I: node I alone on one side.
fault_isolate() {
    local others
    others=$(fault_nodes | grep -vx "$1" | tr '\n' ' ')
    fault_partition "$1|$others"
}

fault_heal() {
    local i
    for i in $(fault_nodes); do
        fault_exec "$i" nft flush chain inet qfault input || return 1
    done
}

fault_have_netem() {
    local ns
    ns=$(fault_ns 0)
    ip -n "$ns" link add qfnetem type dummy 2>/dev/null || return 1
    local rc=0
    fault_nsenter "$ns" tc qdisc add dev qfnetem root netem delay 1ms 2>/dev/null || rc=1
    ip -n "$ns" link del qfnetem
    return $rc
}

# fault_impair I DELAY_MS JITTER_MS LOSS_PCT: both directions of node I's
# link get DELAY ± JITTER (uniform) and LOSS % each.
fault_impair() {
    local i=$1 d=$2 j=$3 l=$4
    fault_unimpair "$i"
    if fault_have_netem; then
        fault_exec "$i" tc qdisc add dev eth0 root netem delay "${d}ms" "${j}ms" loss "${l}%" &&
            fault_hub_exec tc qdisc add dev "n$i" root netem delay "${d}ms" "${j}ms" loss "${l}%" &&
            echo netem >"$FAULT_RUNDIR/impair.$i"
        return
    fi
    fault_impair_relay "$@"
}

fault_impair_relay() {
    local i=$1 d=$2 j=$3 l=$4 hub bin pid
    hub=$(fault_hub)
    bin=$(fault_build_dir)/netemu
    [ -x "$bin" ] || fault_die "netemu not built (set QFS_FAULT_BUILD)"
    ip -n "$hub" link set "n$i" nomaster
    ip -n "$hub" link add "d$i" type veth peer name "e$i" || return 1
    ip -n "$hub" link set "e$i" master br0 up
    ip -n "$hub" link set "d$i" up
    pid=$(fault_spawn "$hub" "$FAULT_RUNDIR/netemu.$i.log" "$bin" "n$i" "d$i" "$d" "$j" "$l")
    echo "relay $pid" >"$FAULT_RUNDIR/impair.$i"
    fault_wait_for 5 grep -q ready "$FAULT_RUNDIR/netemu.$i.log"
}

fault_unimpair() {
    local i=$1 mode pid
    [ -f "$FAULT_RUNDIR/impair.$i" ] || return 0
    read -r mode pid <"$FAULT_RUNDIR/impair.$i"
    if [ "$mode" = netem ]; then
        fault_exec "$i" tc qdisc del dev eth0 root 2>/dev/null
        fault_hub_exec tc qdisc del dev "n$i" root 2>/dev/null
    else
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        ip -n "$(fault_hub)" link del "d$i"
        ip -n "$(fault_hub)" link set "n$i" master br0
    fi
    rm -f "$FAULT_RUNDIR/impair.$i"
}

# fault_link I up|down: the other way to cut a node off completely.
fault_link() { fault_exec "$1" ip link set eth0 "$2"; }
