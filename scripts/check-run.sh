#!/usr/bin/env bash
# Starts the service as scripts/run.sh does (after its build): the class-data training start, then the service on
# its embedded defaults (the ledger's PostgreSQL in ./data), both from one fresh working directory; passes when
# discovery answers with the services. Loopback only. Called by scripts/test.sh after the build.
#
#   scripts/check-run.sh [service jar]
set -euo pipefail
cd "$(dirname "$0")/.."
jar=$(realpath "${1:-cds-service/target/all-cds-service-0.1.0-SNAPSHOT.jar}")
port=${CHECK_RUN_PORT:-18097}
work=$(mktemp -d)
prepare=$PWD/scripts/prepare-service.sh
cd "$work"
launch=$("$prepare" "$jar" "$work/launch")
java $launch --spring.profiles.active=demo --server.port="$port" --server.address=127.0.0.1 > service.log 2>&1 &
pid=$!
stop() { kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; }
discovery() { # GET /cds-services over bash's own TCP (no curl on a bare machine)
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET /cds-services HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  cat <&3
  exec 3<&-
}
for _ in $(seq 1 240); do
  kill -0 "$pid" 2>/dev/null || break
  if discovery 2>/dev/null | grep -q '"all-disease-status"'; then
    stop
    echo "check-run: the service started as scripts/run.sh starts it and answered discovery"
    rm -rf "$work"
    exit 0
  fi
  sleep 0.5
done
stop
echo "check-run: the service did not answer discovery when started as scripts/run.sh starts it ($work):" >&2
grep -m5 -i "error\|fatal\|caused by" "$work/service.log" >&2 || tail -20 "$work/service.log" >&2
exit 1
