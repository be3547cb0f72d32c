#!/usr/bin/env bash
# A routed-multicast topology in network namespaces: one sender, one router running
# smcroute, three receiver segments, each joined to the router by its own veth pair and
# subnet. Nothing is connected to the host's network: every packet stays in these namespaces.
#
#   ID-s (sender)              ID-r (router: smcrouted, ip_forward, IPv6 forwarding)            ID-a/b/c
#   eth0 10.13.0.2/24  ─veth─  vs 10.13.0.1/24                  va 10.13.1.1 ─veth─ eth0 10.13.1.2/24 (a)
#        fd13:0::2/64           fd13:0::1/64                    vb 10.13.2.1 ─veth─ eth0 10.13.2.2/24 (b)
#                                                               vc 10.13.3.1 ─veth─ eth0 10.13.3.2/24 (c)
#                                                               (fd13:N::1 / fd13:N::2 likewise)
#
# Static multicast routes (smcroute.conf), from the sender's segment to all three:
#   239.13.0.0/16   any-source groups         232.13.0.0/16   source-specific, source 10.13.0.2
#   ff15::13:0/112  IPv6 any-source (site)    ff3e::13:0/112  IPv6 source-specific, source fd13::2
# The kernel forwards a multicast datagram only when its TTL (hop limit) is above the
# interface's threshold (1): ttl=1 never leaves the sender's segment.
#
# Usage: scripts/mcast-topology.sh up   [ID]   build it (ID defaults to ipc13-$$; printed)
#        scripts/mcast-topology.sh down ID     stop smcrouted and delete every namespace of ID
#        scripts/mcast-topology.sh run  [ID]   up, a demo (tone -> 3 segments, ttl=4, sha256), down
#        scripts/mcast-topology.sh status ID   namespaces, addresses and the router's mroutes
# Needs root (ip netns), iproute2 and smcroute (apt-get install smcroute).
# Receivers run as:  ip netns exec ID-a node bin/ipcast.js recv 'udp://@239.13.0.1:5004?iface=10.13.1.2' ...
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LEAVES=(a b c)
RUNDIR_BASE=${TMPDIR:-/tmp}

die() { echo "mcast-topology: $*" >&2; exit 1; }
ns() { ip netns exec "$@"; }

up() {
  local id=$1 r="$1-r" s="$1-s" dir="$RUNDIR_BASE/$1.smcroute"
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
  command -v smcrouted >/dev/null || die "smcrouted not found: apt-get install smcroute"
  [ ! -e "/run/netns/$r" ] || die "namespace $r exists already (down $id first)"
  mkdir -p "$dir"
  ip netns add "$r"
  ip netns add "$s"
  for n in "$r" "$s"; do ns "$n" ip link set lo up; done
  ns "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  # Sender segment.
  ip -n "$r" link add vs type veth peer name eth0 netns "$s"
  ip -n "$r" addr add 10.13.0.1/24 dev vs
  ip -n "$r" addr add fd13:0::1/64 dev vs nodad
  ip -n "$s" addr add 10.13.0.2/24 dev eth0
  ip -n "$s" addr add fd13:0::2/64 dev eth0 nodad
  ip -n "$r" link set vs up
  ip -n "$s" link set eth0 up
  ip -n "$s" route add default via 10.13.0.1
  ip -n "$s" -6 route add default via fd13:0::1
  local i=1
  for leaf in "${LEAVES[@]}"; do
    local n="$id-$leaf"
    ip netns add "$n"
    ns "$n" ip link set lo up
    ip -n "$r" link add "v$leaf" type veth peer name eth0 netns "$n"
    ip -n "$r" addr add "10.13.$i.1/24" dev "v$leaf"
    ip -n "$r" addr add "fd13:$i::1/64" dev "v$leaf" nodad
    ip -n "$n" addr add "10.13.$i.2/24" dev eth0
    ip -n "$n" addr add "fd13:$i::2/64" dev eth0 nodad
    ip -n "$r" link set "v$leaf" up
    ip -n "$n" link set eth0 up
    ip -n "$n" route add default via "10.13.$i.1"
    ip -n "$n" -6 route add default via "fd13:$i::1"
    i=$((i + 1))
  done
  cat >"$dir/smcroute.conf" <<EOF
phyint vs enable
phyint va enable
phyint vb enable
phyint vc enable
mroute from vs group 239.13.0.0/16 to va vb vc
mroute from vs source 10.13.0.2 group 232.13.0.0/16 to va vb vc
mroute from vs group ff15::13:0/112 to va vb vc
mroute from vs source fd13:0::2 group ff3e::13:0/112 to va vb vc
EOF
  # Started directly (not through a shell function, whose subshell would keep this script's
  # stdout open) with every standard fd away from the caller's.
  ip netns exec "$r" smcrouted -n -N -l notice -f "$dir/smcroute.conf" -u "$dir/smcroute.sock" -P "$dir/smcroute.pid" \
    </dev/null >"$dir/smcrouted.log" 2>&1 &
  # Ready once it has written its pid file and answers on its socket (bounded: 5 s).
  local t=0
  until [ -s "$dir/smcroute.pid" ] && ns "$r" smcroutectl -u "$dir/smcroute.sock" show routes >/dev/null 2>&1; do
    t=$((t + 1))
    [ $t -le 50 ] || { cat "$dir/smcrouted.log" >&2; die "smcrouted did not start"; }
    sleep 0.1
  done
  echo "$id"
}

down() {
  local id=$1 dir="$RUNDIR_BASE/$1.smcroute"
  if [ -s "$dir/smcroute.pid" ]; then
    local pid
    pid=$(cat "$dir/smcroute.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  for n in "$id-s" "$id-r" "${LEAVES[@]/#/$id-}"; do
    [ -e "/run/netns/$n" ] && ip netns del "$n"
  done
  rm -rf "$dir"
}

status() {
  local id=$1
  for n in "$id-s" "$id-r" "${LEAVES[@]/#/$id-}"; do
    echo "== $n"; ip -n "$n" -br addr
  done
  echo "== mroutes ($id-r)"; ns "$id-r" ip mroute show; ns "$id-r" ip -6 mroute show
}

demo() {
  local id=$1 group=239.13.0.1 port=5004
  DEMO_ID=$id
  trap 'down "$DEMO_ID"' EXIT
  up "$id" >/dev/null
  local pids=() i=1
  for leaf in "${LEAVES[@]}"; do
    ns "$id-$leaf" node "$ROOT/bin/ipcast.js" recv "udp://@$group:$port?iface=10.13.$i.2" \
      --transport pipe,shm,msg --exec sha256sum --exit-on-eos --idle-timeout 5 >"$RUNDIR_BASE/$id-$leaf.out" &
    pids+=($!)
    i=$((i + 1))
  done
  sleep 1
  ns "$id-s" node "$ROOT/bin/ipcast.js" send tone:440:2 --to "udp://$group:$port?iface=10.13.0.2&ttl=4"
  local rc=0
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  for leaf in "${LEAVES[@]}"; do echo "segment $leaf:"; cat "$RUNDIR_BASE/$id-$leaf.out"; rm -f "$RUNDIR_BASE/$id-$leaf.out"; done
  return $rc
}

cmd=${1:-}
case "$cmd" in
  up) up "${2:-ipc13-$$}" ;;
  down) [ -n "${2:-}" ] || die "down needs the ID"; down "$2" ;;
  status) [ -n "${2:-}" ] || die "status needs the ID"; status "$2" ;;
  run) demo "${2:-ipc13-$$}" ;;
  *) echo "usage: $0 up [ID] | down ID | run [ID] | status ID" >&2; exit 2 ;;
esac
