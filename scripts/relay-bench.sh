#!/usr/bin/env bash
# The relay benchmark of docs/benchmarks.md ("Relay"): how fast can `ipcast send` feed
# `ipcast recv` over UDP on this machine without losing a byte, next to relays with no Node in
# them, fed by the same sender in the same run. Then the receiver's memory over a long run.
#
#   scripts/relay-bench.sh [--trials N] [--rates "200M 400M ... max"] [--size BYTES]
#                          [--rss-seconds S] [--rss-rate R] [--rss-node-options "FLAGS"]
#                          [--skip-rss] [--json FILE]
#
# Every trial streams one random file (40 MB by default) once, unicast on 127.0.0.1:
#   c        ipcast send FILE --rate R --to udp://127.0.0.1:P  into  ipcast-udp-baseline P | sha256sum
#            (C: recvmmsg, header + CRC-32C checked, payload written to a pipe; it also times the
#            stream, which gives the rate the sender really reached)
#   socat    ipcast send FILE --rate R --format raw ...  into  socat -u UDP-RECV:P,rcvbuf=8388608 - | sha256sum
#   dgram    ... into  IPCAST_UDP=dgram ipcast recv "udp://@:P?rcvbuf=8388608" --transport shm
#            --exec sha256sum --exit-on-eos        (node:dgram: the receiver before issue 8)
#   native   the same with the native input (recvmmsg in the addon): today's receiver
# A trial passes when the digest equals the file's. A rate passes for a relay when all its
# trials pass; the highest loss-free rate is the highest rate that passed with every lower
# rate passing too. After two failing rates in a row a relay is not tried higher.
# Then `ipcast send --rate max` into the C relay, with the dgram and the native UDP output:
# the sender's own ceiling. Last, the RSS of `ipcast recv` (native input, shm, the sink) sampled
# every second for --rss-seconds at --rss-rate (default 60 s at 100M), the sender looping;
# --rss-node-options runs that receiver with NODE_OPTIONS (e.g. "--max-semi-space-size=2").
# Beside each rate: the receiver's own CPU time for the whole stream (median of its trials).
#
# Needs: node, the addon and executables built (npm install), dist/ (npm run build:ts), socat
# (optional: its column is skipped without it), sha256sum. Traffic stays on 127.0.0.1.
# Everything started is killed by its pid on exit. The machine is shared: run it twice and
# compare; each figure is printed with its trials.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRIALS=3
RATES="200M 400M 600M 800M 1000M max"
SIZE=40000000
RSS_SECONDS=60
RSS_RATE=100M
RSS_NODE_OPTIONS=""
SKIP_RSS=0
JSON_OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) TRIALS=$2; shift 2 ;;
    --rates) RATES=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --rss-seconds) RSS_SECONDS=$2; shift 2 ;;
    --rss-rate) RSS_RATE=$2; shift 2 ;;
    --rss-node-options) RSS_NODE_OPTIONS=$2; shift 2 ;;
    --skip-rss) SKIP_RSS=1; shift ;;
    --json) JSON_OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "relay-bench: unknown option $1" >&2; exit 2 ;;
  esac
done

IPCAST=("$(command -v node)" "$ROOT/bin/ipcast.js")
TCK=$(getconf CLK_TCK)
CRELAY=$ROOT/build/Release/ipcast-udp-baseline
for f in "$ROOT/build/Release/ipcast.node" "$CRELAY" "$ROOT/build/Release/ipcast-sink"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "relay-bench: $f is missing: run npm install" >&2; exit 1; }
done
[ -f "$ROOT/dist/cli.js" ] || { echo "relay-bench: dist/ is missing: run npm run build:ts" >&2; exit 1; }
HAVE_SOCAT=1
command -v socat >/dev/null || HAVE_SOCAT=0

WORK=$(mktemp -d /tmp/ipcast-relay-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FILE=$WORK/stream.bin
head -c "$SIZE" /dev/urandom > "$FILE"
WANT=$(sha256sum "$FILE" | cut -c1-64)

free_port() {
  node -e "const s=require('dgram').createSocket('udp4');s.bind(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
# Waits (bounded) until something listens on UDP port $1 (/proc/net/udp, hex port).
wait_bound() {
  local hex; hex=$(printf ':%04X ' "$1")
  for _ in $(seq 100); do grep -q "$hex" /proc/net/udp && return 0; sleep 0.05; done
  return 1
}
# Waits (bounded) until file $1 contains regex $2.
wait_line() {
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# One trial: relay $1 at rate $2. Leaves "ok" or "fail" in $WORK/result (and appends the C
# relay's Mbit/s to $WORK/mbps.RATE).
trial() {
  local relay=$1 rate=$2 port out err rpid fmt=ipcast recv_env=""
  port=$(free_port)
  out=$WORK/out.$relay; err=$WORK/err.$relay
  : > "$out"; : > "$err"
  case $relay in
    c)
      ( "$CRELAY" "$port" --rcvbuf 8388608 --wait-ms 20000 | sha256sum > "$out" ) 2> "$err" &
      rpid=$!; wait_line "$err" listening || true ;;
    socat)
      fmt=raw
      socat -u "UDP-RECV:$port,bind=127.0.0.1,rcvbuf=8388608" - 2> "$err" > >(sha256sum > "$out") &
      rpid=$!; wait_bound "$port" || true ;;
    dgram|native)
      if [ "$relay" = dgram ]; then recv_env="IPCAST_UDP=dgram"; fi
      # env execs node: $! is the receiver itself (--idle-timeout bounds it).
      env $recv_env "${IPCAST[@]}" recv "udp://@:$port?rcvbuf=8388608" --transport shm \
        --exec sha256sum --exit-on-eos --idle-timeout 3 > "$out" 2> "$err" &
      rpid=$!
      # its own CPU time (utime + stime, not its children's), sampled until it exits
      ( while [ -r "/proc/$rpid/stat" ]; do
          read -r -a st < "/proc/$rpid/stat" 2>/dev/null && echo $(( (st[13] + st[14]) * 1000 / TCK )) > "$WORK/cpu.now"
          sleep 0.05
        done ) &
      PIDS+=("$!")
      : > "$WORK/cpu.now"
      wait_line "$err" 'listening on' || true ;;
  esac
  PIDS+=("$rpid")
  timeout 60 "${IPCAST[@]}" send "$FILE" --rate "$rate" --format "$fmt" --to "udp://127.0.0.1:$port" 2>>"$WORK/send.err" || true
  if [ "$relay" = socat ]; then
    # raw carries no end of stream: stop socat (by its pid) once the datagrams have drained,
    # then give sha256sum, behind the process substitution, a moment to print.
    sleep 0.5
    kill -INT "$rpid" 2>/dev/null || true
    wait "$rpid" 2>/dev/null || true
    for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
  else
    wait "$rpid" 2>/dev/null || true
  fi
  if [ "$relay" = c ]; then
    grep -o '"mbps":[0-9.]*' "$err" | cut -d: -f2 >> "$WORK/mbps.$rate" || true
  fi
  if [ "$relay" = dgram ] || [ "$relay" = native ]; then
    sleep 0.1
    if [ -s "$WORK/cpu.now" ]; then cat "$WORK/cpu.now" >> "$WORK/cpu.$relay.$rate"; fi
  fi
  if [ "$(cut -c1-64 "$out")" = "$WANT" ]; then echo ok > "$WORK/result"; else echo fail > "$WORK/result"; fi
}

RELAYS="c"
[ $HAVE_SOCAT = 1 ] && RELAYS="$RELAYS socat"
RELAYS="$RELAYS dgram native"

echo "# relay-bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), node $(node --version)"
echo "# net.core.rmem_max=$(cat /proc/sys/net/core/rmem_max) (rcvbuf=8388608 is capped to it); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# file: $SIZE random bytes, sha256 $WANT; $TRIALS trials per rate and relay"
echo

declare -A PASS FAILRUN HIGHEST BROKEN MBPS CPU
for r in $RELAYS; do FAILRUN[$r]=0; HIGHEST[$r]="none"; BROKEN[$r]=0; done
printf '%-7s %-14s' "rate" "sent Mbit/s"; for r in $RELAYS; do printf ' %-8s' "$r"; done
printf ' %-s\n' " recv CPU ms, median (dgram / native)"
for rate in $RATES; do
  : > "$WORK/mbps.$rate"
  for r in $RELAYS; do
    if [ "${FAILRUN[$r]}" -ge 2 ]; then PASS[$r.$rate]="-"; continue; fi
    n=0
    for _ in $(seq "$TRIALS"); do
      trial "$r" "$rate"
      if [ "$(cat "$WORK/result")" = ok ]; then n=$((n + 1)); fi
    done
    PASS[$r.$rate]="$n/$TRIALS"
    if [ "$n" = "$TRIALS" ]; then
      FAILRUN[$r]=0
      [ "${BROKEN[$r]}" = 0 ] && HIGHEST[$r]=$rate
    else
      FAILRUN[$r]=$((FAILRUN[$r] + 1)); BROKEN[$r]=1
    fi
  done
  MBPS[$rate]=$(median < "$WORK/mbps.$rate")
  for r in dgram native; do
    CPU[$r.$rate]="-"
    if [ -s "$WORK/cpu.$r.$rate" ]; then CPU[$r.$rate]=$(median < "$WORK/cpu.$r.$rate"); fi
  done
  printf '%-7s %-14s' "$rate" "${MBPS[$rate]}"; for r in $RELAYS; do printf ' %-8s' "${PASS[$r.$rate]}"; done
  printf '  %s / %s\n' "${CPU[dgram.$rate]}" "${CPU[native.$rate]}"
done
echo
echo "highest loss-free rate (every trial byte-exact at it and below):"
for r in $RELAYS; do
  h=${HIGHEST[$r]}
  echo "  $r: $h$( [ "$h" != none ] && echo " (sent at ${MBPS[$h]} Mbit/s, median of the C relay's trials)")"
done

echo
echo "sender ceiling: ipcast send --rate max into the C relay (Mbit/s per trial):"
declare -A CEIL
for impl in dgram native; do
  vals=""
  for _ in $(seq "$TRIALS"); do
    port=$(free_port)
    ( "$CRELAY" "$port" --rcvbuf 8388608 > /dev/null ) 2> "$WORK/ceil.err" &
    rpid=$!; PIDS+=("$rpid"); wait_line "$WORK/ceil.err" listening || true
    env IPCAST_UDP=$impl timeout 60 "${IPCAST[@]}" send "$FILE" --rate max --to "udp://127.0.0.1:$port" 2>/dev/null || true
    wait "$rpid" 2>/dev/null || true
    vals="$vals $(grep -o '"mbps":[0-9.]*' "$WORK/ceil.err" | cut -d: -f2 || echo fail)"
  done
  CEIL[$impl]="$vals"
  echo "  $impl output:$vals (median $(echo $vals | tr ' ' '\n' | median))"
done

RSS_LINE=""
if [ $SKIP_RSS = 0 ]; then
  echo
  echo "recv RSS over ${RSS_SECONDS} s at $RSS_RATE (native input, shm, the sink; NODE_OPTIONS='$RSS_NODE_OPTIONS'), kB every second:"
  port=$(free_port)
  NODE_OPTIONS="$RSS_NODE_OPTIONS" "${IPCAST[@]}" recv "udp://@:$port?rcvbuf=8388608" --transport shm > /dev/null 2> "$WORK/rss.err" &
  rpid=$!; PIDS+=("$rpid"); wait_line "$WORK/rss.err" 'listening on' || true
  "${IPCAST[@]}" send "$FILE" --loop --rate "$RSS_RATE" --to "udp://127.0.0.1:$port" 2> /dev/null &
  spid=$!; PIDS+=("$spid")
  samples=()
  for _ in $(seq "$RSS_SECONDS"); do
    sleep 1
    samples+=("$(awk '/VmRSS/{print $2}' "/proc/$rpid/status" 2>/dev/null || echo 0)")
  done
  kill -INT "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true
  sleep 0.5
  kill -INT "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true
  echo "  ${samples[*]}"
  # growth after a 10 s warm-up: last - sample at 10 s; spread: max - min over the same span
  w=$(( RSS_SECONDS > 10 ? 10 : 0 ))
  tail_samples=("${samples[@]:$w}")
  min=$(printf '%s\n' "${tail_samples[@]}" | awk 'NR==1||$1<m{m=$1} END{print m}')
  max=$(printf '%s\n' "${tail_samples[@]}" | awk 'NR==1||$1>m{m=$1} END{print m}')
  first=${tail_samples[0]}; last=${samples[-1]}
  RSS_LINE="from ${w} s to ${RSS_SECONDS} s: first $first kB, last $last kB, growth $((last - first)) kB, min $min kB, max $max kB"
  echo "  $RSS_LINE"
  echo "  receiver: $(grep -o 'received [0-9]* chunks.*lost [0-9]*' "$WORK/rss.err" | head -1)"
fi
echo
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -n "$JSON_OUT" ]; then
  {
    echo "{"
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"cores\": $(nproc), \"sizeBytes\": $SIZE, \"trials\": $TRIALS,"
    echo "  \"rates\": {"
    first=1
    for rate in $RATES; do
      [ $first = 1 ] || echo ","
      first=0
      printf '    "%s": {"sentMbps": "%s"' "$rate" "${MBPS[$rate]}"
      for r in $RELAYS; do printf ', "%s": "%s"' "$r" "${PASS[$r.$rate]}"; done
      printf ', "recvCpuMs": {"dgram": "%s", "native": "%s"}' "${CPU[dgram.$rate]}" "${CPU[native.$rate]}"
      printf '}'
    done
    echo; echo "  },"
    printf '  "highest": {'; sep=""; for r in $RELAYS; do printf '%s"%s": "%s"' "$sep" "$r" "${HIGHEST[$r]}"; sep=", "; done; echo "},"
    echo "  \"senderCeilingMbps\": {\"dgram\": \"${CEIL[dgram]# }\", \"native\": \"${CEIL[native]# }\"},"
    echo "  \"rss\": \"$RSS_LINE\""
    echo "}"
  } > "$JSON_OUT"
  echo "# wrote $JSON_OUT"
fi
