#!/usr/bin/env bash
# Load test of the running service, and side by side of the peer (AHRQ CDS Connect CQL Services) when installed:
# the same generated 300-resource patient-view request (benchmarks' LongTreatedPatient), closed loop at fixed
# concurrency 1, 2, 8, for LOAD_SECONDS each (default 60), at most LOAD_MAX_CALLS per level; loopback only.
# Reports calls/s, p50/p99/max, errors, time to ready, our heap after the run (jcmd GC.heap_info) and both RSS.
#
#   scripts/load.sh                       # 60 s per level
#   LOAD_SECONDS=20 scripts/load.sh       # shorter
#   LOAD_LEVELS=1,2 LOAD_N=3000 scripts/load.sh
#   LOAD_PEER=0 scripts/load.sh           # ours only
# The peer: scripts/peer/install.sh then scripts/peer/configure.sh (see benchmarks/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/peer/env.sh
PORT="${LOAD_PORT:-18080}"
SECONDS_PER_LEVEL="${LOAD_SECONDS:-60}"
LEVELS="${LOAD_LEVELS:-1,2,8}"
N="${LOAD_N:-300}"
MAX_CALLS="${LOAD_MAX_CALLS:-100000}"
out=benchmarks/target/load
mkdir -p "$out"
rm -f "$out/ours.tsv" "$out/peer.tsv"

if [[ "${LOAD_SKIP_BUILD:-0}" != 1 ]]; then
  mvn -o -B -q -pl benchmarks -am package -DskipTests 2>&1 | grep -v '^SLF4J\|ElmCompiler' || true
  [[ -f cds-service/target/all-cds-service-0.1.0-SNAPSHOT.jar ]] || mvn -o -B -q -pl cds-service -am package -DskipTests
fi
# Snapshot what runs: others may rebuild target/ jars while this runs.
cp cds-service/target/all-cds-service-0.1.0-SNAPSHOT.jar "$out/service.jar"
rm -rf "$out/lib" && mkdir -p "$out/lib"
CP="$(tr ':' '\n' < benchmarks/target/classpath.txt | grep -v 'pom\.xml$\|\.pom$' | while read -r j; do
  if [[ "$j" == "$PWD"/* ]]; then cp "$j" "$out/lib/"; echo "$out/lib/$(basename "$j")"; else echo "$j"; fi; done | paste -sd:)"
cp benchmarks/target/all-cds-benchmarks-0.1.0-SNAPSHOT.jar "$out/lib/"
CP="$out/lib/all-cds-benchmarks-0.1.0-SNAPSHOT.jar:$CP"
java -cp "$CP" org.allcds.bench.WriteRequest "$N" "$out/request-$N.json"

ms() { date +%s%3N; }
wait_ready() { # url, pid, timeout s -> prints ms to ready or fails
  local url=$1 pid=$2 start=$3 deadline=$(( $(date +%s) + $4 ))
  while (( $(date +%s) < deadline )); do
    kill -0 "$pid" 2>/dev/null || { echo "process $pid exited" >&2; return 1; }
    if curl -sf -o /dev/null "$url"; then echo $(( $(ms) - start )); return 0; fi
    sleep 0.1
  done
  echo "not ready in $4 s" >&2; return 1
}
rss_mb() { awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$1/status"; }
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; } # user+system
# The cards' summaries for the request, one line each: both services must reach the same decision.
summaries() { curl -sf -X POST -H 'Content-Type: application/json' --data-binary "@$out/request-$N.json" "$1" \
  | grep -o '"summary" *: *"[^"]*"' | sed 's/^"summary" *: *//' | sort | sed 's/^/  card: /'; }

echo "== ours: all-cds-service on 127.0.0.1:$PORT (demo profile, auth off), N=$N, ${SECONDS_PER_LEVEL}s per level"
launch=$(scripts/prepare-service.sh "$out/service.jar" "$out/launch") # as scripts/run.sh starts it
start=$(ms)
java ${LOAD_JAVA_OPTS:-} $launch --spring.profiles.active=demo --server.port="$PORT" \
     --server.address=127.0.0.1 --all-cds.auth.enabled=false > "$out/service.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null || true; [[ -n "${ppid:-}" ]] && kill $ppid 2>/dev/null || true' EXIT
ready=$(wait_ready "http://127.0.0.1:$PORT/actuator/health" $spid "$start" 180)
echo "ours: ready (GET /actuator/health 200) $ready ms after launch; $(grep -o 'Started .* in [0-9.]* seconds[^)]*)' "$out/service.log" | head -1)"
summaries "http://127.0.0.1:$PORT/cds-services/all-disease-status"
cpu_before=$(cpu_ms $spid)
java -cp "$CP" org.allcds.bench.LoadGenerator run "http://127.0.0.1:$PORT/cds-services/all-disease-status" \
     "$out/request-$N.json" ours "$out/ours.tsv" "$LEVELS" "$SECONDS_PER_LEVEL" "$MAX_CALLS"
# The generator shares the cores: the service's own CPU per call says what 2 dedicated cores would carry.
calls=$(awk -F'\t' '{s += $3} END {print s + 0}' "$out/ours.tsv")
cpu_used=$(( $(cpu_ms $spid) - cpu_before ))
awk -v c="$calls" -v t="$cpu_used" -v n="$(nproc)" 'BEGIN { if (c > 0) printf "ours: service CPU %.2f ms per call (%d calls, %.1f s CPU incl. GC and JIT) -> at most %.0f calls/s on %d dedicated cores\n", t / c, c, t / 1000, n * 1000 * c / t, n }'
echo "ours: RSS $(rss_mb $spid) MB; heap after the run (jcmd GC.heap_info):"
jcmd $spid GC.heap_info | sed 's/^/  /'
kill $spid; wait $spid 2>/dev/null || true

if [[ "${LOAD_PEER:-1}" != 1 ]]; then echo "peer: skipped (LOAD_PEER=0)"; exit 0; fi
if [[ ! -d "$PEER_DIR/node_modules" || ! -f "$PEER_DIR/config/hooks/all-disease-status.json" ]]; then
  echo "peer: SKIPPED: not installed/configured at $PEER_DIR (scripts/peer/install.sh, scripts/peer/configure.sh)"
  exit 0
fi
echo "== peer: AHRQ CDS Connect CQL Services ($(cat "$PEER_DIR/.snapshot-commit" 2>/dev/null | cut -c1-12)) on 127.0.0.1:$PEER_PORT, node $(node --version)"
start=$(ms)
(cd "$PEER_DIR" && PORT=$PEER_PORT exec node ./bin/www) > "$out/peer.log" 2>&1 &
ppid=$!
ready=$(wait_ready "http://127.0.0.1:$PEER_PORT/cds-services" $ppid "$start" 300)
echo "peer: ready (GET /cds-services 200) $ready ms after launch"
summaries "http://127.0.0.1:$PEER_PORT/cds-services/all-disease-status"
java -cp "$CP" org.allcds.bench.LoadGenerator run "http://127.0.0.1:$PEER_PORT/cds-services/all-disease-status" \
     "$out/request-$N.json" peer "$out/peer.tsv" "$LEVELS" "$SECONDS_PER_LEVEL" "$MAX_CALLS"
echo "peer: RSS $(rss_mb $ppid) MB (node; no jcmd)"
kill $ppid; wait $ppid 2>/dev/null || true
echo "== ratio (peer p50 / our p50; our calls/s / peer calls/s)"
java -cp "$CP" org.allcds.bench.LoadGenerator compare "$out/ours.tsv" "$out/peer.tsv"
