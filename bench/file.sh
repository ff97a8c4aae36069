#!/usr/bin/env bash
# Runs issue #5's file benchmark: a fresh huddled on SQLite with the default
# configuration (production argon2id, the bench registers two users), then
# huddle-bench file: a 1 GiB file of random bytes up and down through Huddle's
# data channel and through a plain net/http baseline in the bench's process,
# one untimed warm-up repetition and REPS (default 3) timed ones. Prints the
# bench's JSON line to OUT and its summary to stderr.
#
#   bash bench/file.sh [OUT] [huddle-bench file flags...]
#
# The binaries are built from HEAD (git archive), not the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/dev/stdout}
shift || true
work=$(mktemp -d /tmp/huddle-file-bench.XXXXXX)
trap 'kill "${srv:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

git archive HEAD | tar -x -C "$work" --one-top-level=src
(cd "$work/src" && go build -o "$work/bin/" ./cmd/huddled ./cmd/huddle-bench)

cat >"$work/bench.yaml" <<'YAML'
listen: 127.0.0.1:7850
http: 127.0.0.1:7851
log: {level: warn}
YAML
"$work/bin/huddled" --config "$work/bench.yaml" --data "$work/data" --store "sqlite:$work/data/huddle.db" &
srv=$!
sleep 2
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)" >>"$out"
"$work/bin/huddle-bench" --server 127.0.0.1:7850 --json file --server-pid "$srv" --size "${SIZE:-1GiB}" \
  --reps "${REPS:-3}" "$@" | tail -1 >>"$out"
