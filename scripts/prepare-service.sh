#!/usr/bin/env bash
# Lays the service's Spring Boot jar out for a fast start: unpacked into plain jars (no nested-jar class
# loading) and with a class-data-sharing archive of one start (the JVM maps the classes it loaded instead
# of loading them again). Measured on the 2-core CI machine: ready in about 5 s instead of 10 s.
# Done again only when the jar changes; the java arguments to start it are printed on stdout, with the
# throughput collector (less CPU a call than G1: benchmarks/README.md), half the heap young (a call's objects die
# with it; a large record's call holds ~100 MB while it runs) and a first metadata threshold above what the service
# loads (that collector answers the threshold with a full collection, which stalled the first calls).
# A collector named in JAVA_OPTS or LOAD_JAVA_OPTS wins.
#
#   scripts/prepare-service.sh <service jar> <directory>
# then:  java $(scripts/prepare-service.sh JAR DIR) --spring.profiles.active=demo ...
set -euo pipefail
jar=$1
dir=$2
gc="-XX:+UseParallelGC -XX:NewRatio=1 -XX:MetaspaceSize=64m"
for option in ${JAVA_OPTS:-} ${LOAD_JAVA_OPTS:-}; do
  if [[ "$option" == -XX:+Use*GC ]]; then gc=; fi
done
name=$(basename "$jar")
sum="$(sha256sum "$jar" | cut -d' ' -f1) $gc" # the archive is recorded under the collector it runs with
if [[ ! -f "$dir/.source" || "$(cat "$dir/.source")" != "$sum" ]]; then
  rm -rf "$dir" && mkdir -p "$dir"
  java -Djarmode=tools -jar "$jar" extract --destination "$dir/app" > "$dir/extract.log" 2>&1 \
    || { echo "prepare-service.sh: could not unpack $jar (see $dir/extract.log)" >&2; exit 1; }
  # The training start: Spring exits once its context is refreshed (the ELM loaded and compiled, no
  # warm-up calls), and the JVM writes what it loaded. Without an archive the service still starts.
  # Without the ledger: that exit halts the JVM without closing anything, and an embedded PostgreSQL left
  # running on the data directory would keep the service from starting its own.
  if ! java $gc -XX:ArchiveClassesAtExit="$dir/app.jsa" -Dspring.context.exit=onRefresh -jar "$dir/app/$name" \
      --spring.profiles.active=demo --server.port=0 --server.address=127.0.0.1 --all-cds.ledger.enabled=false \
      > "$dir/training.log" 2>&1; then
    echo "prepare-service.sh: no class-data archive (see $dir/training.log); starting without it" >&2
    rm -f "$dir/app.jsa"
  fi
  echo "$sum" > "$dir/.source"
fi
if [[ -f "$dir/app.jsa" ]]; then
  echo "$gc -XX:SharedArchiveFile=$dir/app.jsa -Xlog:cds=off -jar $dir/app/$name"
else
  echo "$gc -jar $dir/app/$name"
fi
