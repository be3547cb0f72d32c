#!/usr/bin/env bash
# The relay benchmark of docs/benchmarks.md ("Relay"): how fast can `ipcast send` feed
# `ipcast recv` over UDP on this machine without losing a byte, and at what CPU cost, next to
# relays with no Node in them, fed by the same sender in the same run. Then the receiver's
# memory over a long run.
#
#   scripts/relay-bench.sh [--trials N] [--rates "200M 400M ... max"] [--size BYTES]
#                          [--relays "c socat js native"] [--rss-seconds S] [--rss-rate R]
#                          [--rss-node-options "FLAGS"] [--skip-rss] [--json FILE]
#
# Every trial streams one random file (40 MB by default) once, unicast on 127.0.0.1, into
# sha256sum through a pipe (the same consumer for every relay):
#   c        ipcast send FILE --rate R --to udp://127.0.0.1:P  into  ipcast-udp-baseline P | sha256sum
#            (C: recvmmsg, header + CRC-32C checked, payload written to the pipe; it also times the
#            stream, which gives the rate the sender really reached, and reports its CPU time)
#   socat    ipcast send FILE --rate R --format raw ...  into  socat -u UDP-RECV:P,rcvbuf=8388608 - | sha256sum
#   native   ipcast recv "udp://@:P?rcvbuf=8388608" --transport pipe --exec sha256sum --exit-on-eos:
#            today's receiver, the native relay path (no JS per chunk)
#   js       the same with IPCAST_RELAY=js: the native input, every chunk through JS (before issue 12)
#   dgram    the same with IPCAST_UDP=dgram: node:dgram and JS (before issue 8; not run by default)
# A trial passes when the digest equals the file's. A rate passes for a relay when all its
# trials pass; the highest loss-free rate is the highest rate that passed with every lower
# rate passing too. After two failing rates in a row a relay is not tried higher.
# Beside each rate: the relay's own CPU time per GB of payload (median of its trials): the C
# relay's getrusage, recv's process.cpuUsage() from its summary (every thread of the process,
# not its children), less recv's start-up and shut-down (a recv that gets no data, median of
# three), and the ratio native / c.
# Then `ipcast send --rate max` into the C relay: the sender's own ceiling, with node:dgram
# (dgram), the addon's socket fed by JS per chunk (js: IPCAST_PACER=js) and the native pacing
# loop (native, the default). Last, the RSS of `ipcast recv` (native relay path, shm, the sink)
# sampled every second for --rss-seconds at --rss-rate (default 60 s at 100M), the sender
# looping; --rss-node-options runs that receiver with NODE_OPTIONS.
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
RELAYS_ASKED="c socat js native"
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
    --relays) RELAYS_ASKED=$2; shift 2 ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
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

# One trial: relay $1 at rate $2. Leaves "ok" or "fail" in $WORK/result, appends the C
# relay's Mbit/s to $WORK/mbps.RATE and the relay's CPU ms to $WORK/cpu.RELAY.RATE.
trial() {
  local relay=$1 rate=$2 port out err rpid fmt=ipcast recv_env=""
  port=$(free_port)
  out=$WORK/out.$relay; err=$WORK/err.$relay
  : > "$out"; : > "$err"
  case $relay in
    c)
      "$CRELAY" "$port" --rcvbuf 8388608 --wait-ms 20000 2> "$err" > >(sha256sum > "$out") &
      rpid=$!; wait_line "$err" listening || true ;;
    socat)
      fmt=raw
      socat -u "UDP-RECV:$port,bind=127.0.0.1,rcvbuf=8388608" - 2> "$err" > >(sha256sum > "$out") &
      rpid=$!; wait_bound "$port" || true ;;
    dgram|js|native)
      case $relay in dgram) recv_env="IPCAST_UDP=dgram" ;; js) recv_env="IPCAST_RELAY=js" ;; esac
      # env execs node: $! is the receiver itself (--idle-timeout bounds it).
      env $recv_env "${IPCAST[@]}" recv "udp://@:$port?rcvbuf=8388608" --transport pipe \
        --exec sha256sum --exit-on-eos --idle-timeout 3 > "$out" 2> "$err" &
      rpid=$!
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
  else
    wait "$rpid" 2>/dev/null || true
  fi
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
  if [ "$relay" = c ]; then
    grep -o '"mbps":[0-9.]*' "$err" | cut -d: -f2 >> "$WORK/mbps.$rate" || true
    grep -o '"cpuMs":[0-9.]*' "$err" | cut -d: -f2 >> "$WORK/cpu.$relay.$rate" || true
  elif [ "$relay" != socat ]; then
    recv_cpu_ms "$err" >> "$WORK/cpu.$relay.$rate" || true
  fi
  if [ "$(grep -o '^[0-9a-f]\{64\}' "$out" | head -1)" = "$WANT" ]; then echo ok > "$WORK/result"; else echo fail > "$WORK/result"; fi
}

# recv's own CPU ms from the "cpu S s" at the end of its summary line.
recv_cpu_ms() {
  grep -o 'cpu [0-9.]* s' "$1" | tail -1 | awk '{printf "%.1f\n", $2 * 1000}'
}

# recv's CPU for starting, forking its decoder and shutting down, with no data: subtracted
# from every recv trial.
startup_cpu_ms() {
  local vals="" port err=$WORK/startup.err
  for _ in 1 2 3; do
    port=$(free_port)
    "${IPCAST[@]}" recv "udp://@:$port" --transport pipe --exec sha256sum --exit-on-eos --idle-timeout 0.5 > /dev/null 2> "$err" || true
    vals="$vals $(recv_cpu_ms "$err")"
  done
  echo $vals | tr ' ' '\n' | median
}

# CPU ms per GB of payload, less $2 ms of start-up: "-" when unknown.
per_gb() {
  [ "$1" = "-" ] && { echo "-"; return; }
  awk -v c="$1" -v s="$2" -v b="$SIZE" 'BEGIN { printf "%.0f", (c - s) * 1e9 / b }'
}

RELAYS=""
for r in $RELAYS_ASKED; do
  case $r in
    socat) [ $HAVE_SOCAT = 1 ] && RELAYS="$RELAYS socat" ;;
    c|js|native|dgram) RELAYS="$RELAYS $r" ;;
    *) echo "relay-bench: unknown relay $r (c socat js native dgram)" >&2; exit 2 ;;
  esac
done
RELAYS=${RELAYS# }
CPU_RELAYS=$(for r in $RELAYS; do [ "$r" != socat ] && printf '%s ' "$r"; done)
CPU_RELAYS=${CPU_RELAYS% }

echo "# relay-bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), node $(node --version)"
echo "# net.core.rmem_max=$(cat /proc/sys/net/core/rmem_max) (rcvbuf=8388608 is capped to it); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# file: $SIZE random bytes, sha256 $WANT; $TRIALS trials per rate and relay"
STARTUP_MS=$(startup_cpu_ms)
echo "# recv start-up and shut-down with no data: $STARTUP_MS ms of CPU (median of 3; subtracted below)"
echo

declare -A PASS FAILRUN HIGHEST BROKEN MBPS CPU
for r in $RELAYS; do FAILRUN[$r]=0; HIGHEST[$r]="none"; BROKEN[$r]=0; done
printf '%-7s %-12s' "rate" "sent Mbit/s"; for r in $RELAYS; do printf ' %-7s' "$r"; done
printf '  CPU ms/GB, median (%s)' "$(echo $CPU_RELAYS | tr ' ' '/')"
[[ " $RELAYS " == *" c "* && " $RELAYS " == *" native "* ]] && printf '  native/c'
echo
for rate in $RATES; do
  : > "$WORK/mbps.$rate"
  for r in $RELAYS; do
    : > "$WORK/cpu.$r.$rate"
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
  cpus=""
  for r in $CPU_RELAYS; do
    CPU[$r.$rate]="-"
    if [ -s "$WORK/cpu.$r.$rate" ]; then
      m=$(median < "$WORK/cpu.$r.$rate")
      if [ "$r" = c ]; then CPU[$r.$rate]=$(per_gb "$m" 0); else CPU[$r.$rate]=$(per_gb "$m" "$STARTUP_MS"); fi
    fi
    cpus="$cpus/${CPU[$r.$rate]}"
  done
  printf '%-7s %-12s' "$rate" "${MBPS[$rate]}"; for r in $RELAYS; do printf ' %-7s' "${PASS[$r.$rate]}"; done
  printf '  %s' "${cpus#/}"
  if [ -n "${CPU[c.$rate]:-}" ] && [ -n "${CPU[native.$rate]:-}" ] && [ "${CPU[c.$rate]}" != "-" ] && [ "${CPU[native.$rate]}" != "-" ]; then
    awk -v n="${CPU[native.$rate]}" -v c="${CPU[c.$rate]}" 'BEGIN { if (c > 0) printf "  %.2f", n / c }'
  fi
  echo
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
for impl in dgram js native; do
  case $impl in dgram) send_env="IPCAST_UDP=dgram" ;; js) send_env="IPCAST_PACER=js" ;; *) send_env="IPCAST_PACER=native" ;; esac
  vals=""
  for _ in $(seq "$TRIALS"); do
    port=$(free_port)
    ( "$CRELAY" "$port" --rcvbuf 8388608 > /dev/null ) 2> "$WORK/ceil.err" &
    rpid=$!; PIDS+=("$rpid"); wait_line "$WORK/ceil.err" listening || true
    env $send_env timeout 60 "${IPCAST[@]}" send "$FILE" --rate max --to "udp://127.0.0.1:$port" 2>/dev/null || true
    wait "$rpid" 2>/dev/null || true
    vals="$vals $(grep -o '"mbps":[0-9.]*' "$WORK/ceil.err" | cut -d: -f2 || echo fail)"
  done
  CEIL[$impl]="$vals"
  echo "  $impl output:$vals (median $(echo $vals | tr ' ' '\n' | median))"
done

RSS_LINE=""
if [ $SKIP_RSS = 0 ]; then
  echo
  echo "recv RSS over ${RSS_SECONDS} s at $RSS_RATE (native relay path, shm, the sink; NODE_OPTIONS='$RSS_NODE_OPTIONS'), kB every second:"
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
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"cores\": $(nproc), \"sizeBytes\": $SIZE, \"trials\": $TRIALS, \"recvStartupCpuMs\": \"$STARTUP_MS\","
    echo "  \"rates\": {"
    first=1
    for rate in $RATES; do
      [ $first = 1 ] || echo ","
      first=0
      printf '    "%s": {"sentMbps": "%s"' "$rate" "${MBPS[$rate]}"
      for r in $RELAYS; do printf ', "%s": "%s"' "$r" "${PASS[$r.$rate]}"; done
      printf ', "cpuMsPerGB": {'; sep=""; for r in $CPU_RELAYS; do printf '%s"%s": "%s"' "$sep" "$r" "${CPU[$r.$rate]}"; sep=", "; done; printf '}'
      printf '}'
    done
    echo; echo "  },"
    printf '  "highest": {'; sep=""; for r in $RELAYS; do printf '%s"%s": "%s"' "$sep" "$r" "${HIGHEST[$r]}"; sep=", "; done; echo "},"
    echo "  \"senderCeilingMbps\": {\"dgram\": \"${CEIL[dgram]# }\", \"js\": \"${CEIL[js]# }\", \"native\": \"${CEIL[native]# }\"},"
    echo "  \"rss\": \"$RSS_LINE\""
    echo "}"
  } > "$JSON_OUT"
  echo "# wrote $JSON_OUT"
fi
