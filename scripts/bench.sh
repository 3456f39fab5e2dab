#!/usr/bin/env bash
# JMH benchmarks of one all-disease-status call, step by step, on a generated long-treated ALL patient
# of N = 30, 300, 3,000, 10,000 resources. Prints the table (N x step: p50/p99 ms) and the per-resource cost.
#
#   scripts/bench.sh                      # everything (about 15 min on 2 cores)
#   BENCH_N=300 scripts/bench.sh          # one size (comma list allowed: BENCH_N=30,300)
#   BENCH_ONLY=whole scripts/bench.sh     # one step (a JMH regex on the method name)
#   BENCH_QUICK=1 scripts/bench.sh        # 2 x 2 s warm-up, 3 x 2 s measured: a smoke run, noisy
#   BENCH_JFR=1 scripts/bench.sh          # whole call at N=300 with a JFR recording, then its hot spots
#   BENCH_FORKS=3 BENCH_N=300 BENCH_ONLY=whole scripts/bench.sh   # 3 JVMs pooled: the figure to hold against a bar
#                                         # (on a shared 2-core VM one JVM's p50 varies by +-20 % from the next's)
#   extra JMH options after --, e.g. scripts/bench.sh -- -prof gc
#
# One fork per (step, N) by default (-f 1, BENCH_FORKS): the 2-core CI machine's budget; forks add start-up of a Spring
# context each. Results: benchmarks/target/jmh-result.json and jmh-table.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  mvn -o -B -q -pl benchmarks -am package -DskipTests 2>&1 | grep -v '^SLF4J' || true
fi
test -f benchmarks/target/classpath.txt || { echo "bench.sh: build failed (benchmarks/target/classpath.txt missing)"; exit 1; }
# Snapshot the project's jars: others may rebuild cql/target etc. while a long run is going (a fork then fails
# with NoClassDefFoundError).
lib=benchmarks/target/bench-lib
rm -rf "$lib" && mkdir -p "$lib"
cp benchmarks/target/all-cds-benchmarks-0.1.0-SNAPSHOT.jar "$lib/"
CP="$lib/all-cds-benchmarks-0.1.0-SNAPSHOT.jar:$(tr ':' '\n' < benchmarks/target/classpath.txt | grep -v 'pom\.xml$\|\.pom$' | while read -r j; do
  if [[ "$j" == "$PWD"/* ]]; then cp "$j" "$lib/"; echo "$lib/$(basename "$j")"; else echo "$j"; fi; done | paste -sd:)"

extra=()
if [[ "${1:-}" == "--" ]]; then shift; extra=("$@"); fi
args=(-f "${BENCH_FORKS:-1}" -rf json -rff benchmarks/target/jmh-result.json)
[[ -n "${BENCH_N:-}" ]] && args+=(-p "n=${BENCH_N}")
[[ "${BENCH_QUICK:-0}" == 1 ]] && args+=(-wi 2 -w 2s -i 3 -r 2s)

if [[ "${BENCH_JFR:-0}" == 1 ]]; then
  out=benchmarks/target/jfr
  rm -rf "$out"; mkdir -p "$out"
  java -cp "$CP" org.openjdk.jmh.Main 'HookCallBenchmark.whole' -p n="${BENCH_N:-300}" -f 1 -wi 3 -w 5s -i 4 -r 5s \
       -prof "jfr:dir=$out" "${extra[@]}" | tail -15
  java -cp "$CP" org.allcds.bench.HotSpots "$out" 25 | tee benchmarks/target/hotspots.txt
  exit 0
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
java -cp "$CP" org.openjdk.jmh.Main "HookCallBenchmark.${BENCH_ONLY:-}" "${args[@]}" "${extra[@]}" > benchmarks/target/jmh-output.txt
tail -30 benchmarks/target/jmh-output.txt
echo
java -cp "$CP" org.allcds.bench.BenchTable benchmarks/target/jmh-result.json | tee benchmarks/target/jmh-table.md
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
