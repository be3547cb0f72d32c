#!/bin/sh
# The message queue at the kernel's default limits and with them raised: runs
# `ipcast bench --transports msg` twice, once as the system is, once with
# /proc/sys/kernel/msgmax and msgmnb raised (needs root), and restores the original values
# on exit (also on Ctrl-C or an error). A queue takes msg_qbytes = msgmnb when it is
# created, so raising the sysctl is enough; raising one queue's msg_qbytes above msgmnb
# with IPC_SET would need CAP_SYS_RESOURCE instead.
#   scripts/bench-msg-sysctl.sh [MSGMAX [MSGMNB]] [-- extra ipcast bench arguments]
# Defaults: MSGMAX 65536 (one 64 KiB chunk per message), MSGMNB 4194304 (4 MiB queue).
set -eu
cd "$(dirname "$0")/.."
new_max=65536
new_mnb=4194304
if [ $# -gt 0 ] && [ "$1" != "--" ]; then new_max=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then new_mnb=$1; shift; fi
[ "${1:-}" = "--" ] && shift
out=${OUT_DIR:-bench-results}
mkdir -p "$out"
[ -f dist/cli.js ] || npm run build:ts

old_max=$(cat /proc/sys/kernel/msgmax)
old_mnb=$(cat /proc/sys/kernel/msgmnb)
restore() {
  echo "$old_max" > /proc/sys/kernel/msgmax
  echo "$old_mnb" > /proc/sys/kernel/msgmnb
  echo "restored msgmax $(cat /proc/sys/kernel/msgmax), msgmnb $(cat /proc/sys/kernel/msgmnb)" >&2
}

echo "== msg at msgmax $old_max, msgmnb $old_mnb (as the system is)"
node bin/ipcast.js bench --transports msg --json "$out/msg-default.json" "$@" | tee "$out/msg-default.txt"

if ! { echo "$new_max" > /proc/sys/kernel/msgmax; } 2>/dev/null; then
  echo "cannot write /proc/sys/kernel/msgmax (not root?): skipping the raised run" >&2
  exit 1
fi
trap restore EXIT
trap 'exit 130' INT TERM
echo "$new_mnb" > /proc/sys/kernel/msgmnb
echo "== msg at msgmax $new_max, msgmnb $new_mnb (raised for this run)"
node bin/ipcast.js bench --transports msg --json "$out/msg-raised.json" "$@" | tee "$out/msg-raised.txt"
