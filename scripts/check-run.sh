#!/usr/bin/env bash
# Starts the service as scripts/run.sh does (after its build): the class-data training start, then the service on
# its embedded defaults (the ledger's PostgreSQL in ./data), both from one fresh working directory; passes when
# discovery answers with the services. Loopback only. Called by scripts/test.sh after the build.
#
#   scripts/check-run.sh [service jar]        (CHECK_RUN_PORT: the port to use, default 18097)
set -euo pipefail
cd "$(dirname "$0")/.."
jar=$(realpath "${1:-cds-service/target/all-cds-service-0.1.0-SNAPSHOT.jar}")
port=${CHECK_RUN_PORT:-18097}
prepare=$PWD/scripts/prepare-service.sh
log=$PWD/target/check-run.log
mkdir -p target
discovery() { # GET /cds-services over bash's own TCP (no curl on a bare machine), at most 10 s
  timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /cds-services HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && cat <&3' _ "$port"
}
if discovery > /dev/null 2>&1; then
  echo "check-run: something already answers on 127.0.0.1:$port; set CHECK_RUN_PORT" >&2
  exit 1
fi
work=$(mktemp -d)
pid=
stop() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap stop EXIT
cd "$work"
launch=$("$prepare" "$jar" "$work/launch")
java $launch --spring.profiles.active=demo --server.port="$port" --server.address=127.0.0.1 > "$log" 2>&1 &
pid=$!
for _ in $(seq 1 240); do
  kill -0 "$pid" 2>/dev/null || break
  if discovery 2>/dev/null | grep -q '"all-disease-status"'; then
    echo "check-run: the service started as scripts/run.sh starts it and answered discovery ($(grep -o 'Started [A-Za-z]* in [0-9.]* seconds' "$log" | head -1))"
    exit 0
  fi
  sleep 0.5
done
echo "check-run: the service did not answer discovery when started as scripts/run.sh starts it (log: $log):" >&2
grep -m5 -i "fatal\|error\|caused by" "$log" >&2 || tail -20 "$log" >&2
exit 1
