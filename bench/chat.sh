#!/usr/bin/env bash
# Runs issue #4's benchmarks in one session: dbcommit's anchors, durable
# private messages (MySQL, ack after commit) at several loads, dbcommit
# again, then group fan-out next to natsfan, then a reconnect storm
# (connect) and a mix of chat requests (mixed). Prints one line per run: the
# bench's JSON summary or the tool's output, and the CPU-seconds huddled,
# mariadbd and the load generator used, and what the whole machine used.
#
#   bash bench/chat.sh [OUT]    # OUT: where the lines go (default stdout)
#   PROCS=4 bash bench/chat.sh  # huddled with GOMAXPROCS=4 (default: one per vCPU)
#
# Needs MariaDB at 127.0.0.1:3306 (root, no password) and, for the fan-out
# anchor, nats-server at 127.0.0.1:4222; ../shared/tools beside the repo.
# The binaries are built from HEAD (git archive), not the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/dev/stdout}
work=$(mktemp -d /tmp/huddle-chat-bench.XXXXXX)
trap 'kill "${srv:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

git archive HEAD | tar -x -C "$work" --one-top-level=src
(cd "$work/src" && go build -o "$work/bin/" ./cmd/huddled ./cmd/huddle-bench)
for t in dbcommit natsfan; do (cd ../shared/tools/$t && go build -o "$work/bin/$t" .); done

cat >"$work/bench.yaml" <<'YAML'
listen: 127.0.0.1:7830
http: 127.0.0.1:7831
log:
  level: warn
net:
  max_conns: 100000
  max_conns_per_ip: 50000
auth:
  register_per_ip: 1000000   # the bench registers its users from 127.0.0.1
  argon2_memory_kib: 64      # cheap hashing: the scenarios register up to 1,004 users
  argon2_time: 1
media:
  port: 7832
YAML

tick=$(getconf CLK_TCK)
proc_cpu() { # ticks used by the processes named $1 (huddled: this script's server only)
  local s=0 p pids
  if [ "$1" = huddled ]; then pids=$srv; else pids=$(pgrep -x "$1"); fi
  for p in $pids; do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo $s
}
machine_cpu() { awk '/^cpu /{print $2+$3+$4+$6+$7+$8}' /proc/stat; }
quiet() { # until the machine has used < 0.2 cores for 3 s (QUIET=0: no wait)
  [ "${QUIET:-1}" = 0 ] && return
  local a b
  for _ in $(seq 60); do
    a=$(machine_cpu); sleep 3; b=$(machine_cpu)
    (((b - a) * 10 < 3 * tick * 2)) && return
  done
}
run() { # label, command...: one line with its output and the CPU it took
  local label=$1; shift
  quiet
  local s0 d0 m0 g0 r
  children() { awk '{print $16 + $17}' /proc/$$/stat; } # waited-for children: the generator
  s0=$(proc_cpu huddled); d0=$(proc_cpu mariadbd); m0=$(machine_cpu); g0=$(children)
  r=$("$@" 2>/dev/null | tail -1)
  printf '%s\t%s\tsrv=%.1f db=%.1f gen=%.1f machine=%.1f\n' "$label" "$r" \
    "$(echo "($(proc_cpu huddled) - $s0) / $tick" | bc -l)" "$(echo "($(proc_cpu mariadbd) - $d0) / $tick" | bc -l)" \
    "$(echo "($(children) - $g0) / $tick" | bc -l)" "$(echo "($(machine_cpu) - $m0) / $tick" | bc -l)" >>"$out"
}

mariadb --protocol=tcp -h127.0.0.1 -uroot -e 'DROP DATABASE IF EXISTS huddle_bench; CREATE DATABASE huddle_bench'
env ${PROCS:+GOMAXPROCS=$PROCS} "$work/bin/huddled" --config "$work/bench.yaml" --data "$work/data" \
  --store 'mysql:root@tcp(127.0.0.1:3306)/huddle_bench' &
srv=$!
sleep 2
hb() { "$work/bin/huddle-bench" --server 127.0.0.1:7830 --json "$@"; }

echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) GOMAXPROCS=${PROCS:-default}" >>"$out"
run "dbcommit -batch 100" "$work/bin/dbcommit" -batch 100
run "dbcommit -batch 500" "$work/bin/dbcommit" -batch 500
for load in "100 1" "100 8" "100 32" "100 32" "500 8"; do
  set -- $load
  run "chat $1x$2" hb chat --clients "$1" --pipeline "$2" --duration 10s
done
run "dbcommit -batch 100" "$work/bin/dbcommit" -batch 100
run "natsfan 100" "$work/bin/natsfan" -subs 100 -size 128 -d 5s
run "fanout M=100 S=4 K=16" hb fanout --members 100 --senders 4 --pipeline 16 --size 128 --duration 10s
run "fanout M=100 S=4 K=32" hb fanout --members 100 --senders 4 --pipeline 32 --size 128 --duration 10s
run "natsfan 1000" "$work/bin/natsfan" -subs 1000 -size 128 -d 5s
run "fanout M=1000 S=4 K=16" hb fanout --members 1000 --senders 4 --pipeline 16 --size 128 --duration 10s
run "natsfan 100" "$work/bin/natsfan" -subs 100 -size 128 -d 5s
run "connect 16" hb connect --conns 16 --duration 10s
run "mixed 100x8" hb mixed --clients 100 --pipeline 8 --duration 10s
mariadb --protocol=tcp -h127.0.0.1 -uroot -e 'DROP DATABASE huddle_bench'
