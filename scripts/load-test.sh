#!/usr/bin/env bash
# Load test of the CDS service with authentication ON, on this machine only (loopback).
# Builds the service, starts it on 127.0.0.1:$PORT with one issuer whose JWKS the load generator
# serves on 127.0.0.1:$JWKS_PORT (a fresh ES384 key per run), then sends fixture hook calls at a
# steady rate, each with a freshly signed JWT (new jti), and prints throughput, p50/p90/p99 and errors.
# Stops the service it started when done (or interrupted).
#
#   scripts/load-test.sh [--rate 20] [--duration 60] [--warmup 10]
#   env: PORT (18080), JWKS_PORT (18089), SKIP_BUILD=1 to reuse the last build, JAVA_OPTS for the service
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-18080}
JWKS_PORT=${JWKS_PORT:-18089}
ISS=load-test-ehr
CP_FILE=cds-service/target/load-test-classpath.txt
JAR=cds-service/target/all-cds-service-0.1.0-SNAPSHOT.jar
LOG=cds-service/target/load-test-service.log

if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -f "$JAR" ] || [ ! -f "$CP_FILE" ]; then
  echo "load-test: building the service and the load generator"
  mvn -B -ntp -q -o -pl cds-service -am package dependency:build-classpath -DskipTests \
      -Dmdep.includeScope=test -Dmdep.outputFile="$PWD/$CP_FILE"
fi

echo "load-test: starting the service on 127.0.0.1:$PORT (auth on, issuer $ISS, JWKS http://127.0.0.1:$JWKS_PORT/jwks.json); log $LOG"
java ${JAVA_OPTS:-} -jar "$JAR" \
  --server.address=127.0.0.1 --server.port="$PORT" \
  --all-cds.auth.enabled=true \
  --all-cds.auth.audience="http://127.0.0.1:$PORT/cds-services" \
  --all-cds.auth.issuers[0].iss="$ISS" \
  --all-cds.auth.issuers[0].jwks-url="http://127.0.0.1:$JWKS_PORT/jwks.json" \
  --logging.level.org.allcds.cds.security=WARN \
  >"$LOG" 2>&1 &
SERVICE_PID=$!
trap 'kill "$SERVICE_PID" 2>/dev/null || true; wait "$SERVICE_PID" 2>/dev/null || true' EXIT INT TERM

java -cp "cds-service/target/test-classes:cds-service/target/classes:$(cat "$CP_FILE")" \
  org.allcds.cds.load.LoadGenerator \
  --target "http://127.0.0.1:$PORT" --jwks-port "$JWKS_PORT" --iss "$ISS" "$@"
