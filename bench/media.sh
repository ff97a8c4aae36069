#!/usr/bin/env bash
# Runs issue #6's relay benchmarks in one session: for fan-out 1, 10 and 50,
# udplimit's loopback ceiling, then huddle-bench media at full rate for 1, 10
# and 100 meetings, then each combination again paced at half of the peak it
# just reached (the load at which the p99 goal is judged), and that load once
# more through huddle-bench hop, a bare forwarder process on the relay's vCPU
# instead of huddled: the latency floor the machine itself gives the same
# two loopback hops. Prints one line per run: the tool's output, or the
# bench's figures: its end-to-end delivery latency and the relay's own (read
# from huddled --metrics on 7843).
#
#   bash bench/media.sh [OUT]    # OUT: where the lines go (default stdout)
#
# Needs python3 (to read the bench's JSON) and ../shared/tools beside the
# repo. The binaries are built from HEAD (git archive), not the working tree.
# Multicast is off: the relay sends to the bench's unicast subscribers only.
# With PIN=1 (the default) huddled runs on vCPU 1 and the load generator on
# vCPU 0 (taskset), so that the two do not take each other's core; udplimit,
# one process, always has both. PIN=0, or a 1-vCPU machine, leaves placement
# to the kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/dev/stdout}
work=$(mktemp -d /tmp/huddle-media-bench.XXXXXX)
trap 'kill "${srv:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

git archive HEAD | tar -x -C "$work" --one-top-level=src
(cd "$work/src" && go build -o "$work/bin/" ./cmd/huddled ./cmd/huddle-bench)
(cd ../shared/tools/udplimit && go build -o "$work/bin/udplimit" .)

cat >"$work/bench.yaml" <<'YAML'
listen: 127.0.0.1:7840
http: 127.0.0.1:7841
log: {level: warn}
net: {max_conns: 100000, max_conns_per_ip: 50000}
auth: {register_per_ip: 1000000, argon2_memory_kib: 64, argon2_time: 1}
media:
  port: 7842
  multicast: false
  source_rate: 10000000   # the publishers send far above a person's rate
  source_burst: 1000000
YAML

srvcpu=() gencpu=() fwdcpu=-1
pin=${PIN:-1}
[ "$(nproc)" -ge 2 ] || pin=0 # one vCPU: nothing to pin apart
if [ "$pin" = 1 ]; then srvcpu=(taskset -c 1) gencpu=(taskset -c 0) fwdcpu=1; fi
"${srvcpu[@]}" "$work/bin/huddled" --config "$work/bench.yaml" --data "$work/data" --store "sqlite:$work/data/huddle.db" \
  --metrics 127.0.0.1:7843 &
srv=$!
sleep 2
hb() { "${gencpu[@]}" "$work/bin/huddle-bench" --server 127.0.0.1:7840 --json media --server-pid "$srv" --duration 5s \
  --metrics http://127.0.0.1:7843 "$@" 2>/dev/null | tail -1; }
fig() { python3 -c 'import json,sys
d=json.load(sys.stdin); r=d.get("relay_latency")
s="pkts/s=%d p50_ms=%.3f p99_ms=%.3f loss=%.4f server_cpu_s=%.2f" % (d["ops_per_sec"], d.get("delivery_p50_ms", 0), d.get("delivery_p99_ms", 0), d.get("loss", 0), d.get("server_cpu_s", 0))
print(s + (" relay_p50_us=%.0f relay_p99_us=%.0f" % (r["p50_us"], r["p99_us"]) if r else ""))'; }

echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) PIN=$pin" >>"$out"
for k in 1 10 50; do
  echo "udplimit -fanout $k	$("$work/bin/udplimit" -fanout "$k" -d 3s 2>&1 | tail -1)" >>"$out"
  for m in 1 10 100; do
    r=$(hb --meetings "$m" --fanout "$k")
    echo "full M=$m K=$k	$(fig <<<"$r")" >>"$out"
    rate=$(python3 -c "import json,sys; print(max(1, int(json.loads(sys.argv[1])['ops_per_sec'] / 2 / ($m * $k))))" "$r")
    echo "half M=$m K=$k rate=$rate	$(hb --meetings "$m" --fanout "$k" --rate "$rate" | fig)" >>"$out"
    echo "floor M=$m K=$k rate=$rate	$("${gencpu[@]}" "$work/bin/huddle-bench" --json hop --meetings "$m" --fanout "$k" --rate "$rate" \
      --duration 5s --cpu "$fwdcpu" 2>/dev/null | tail -1 | fig)" >>"$out"
  done
done
