#!/usr/bin/env bash
# Builds and runs the CDS service on http://localhost:8080 with its embedded defaults (demo
# profile: authentication off, fhirServer calls allowed to localhost). Replay the demo fixtures
# against it with:  mvn -q -pl fhir-fixtures exec:java -Dexec.args="--service-url http://localhost:8080"
# Extra arguments go to the service, e.g. scripts/run.sh --server.port=9090
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
  echo "run.sh: installing openjdk-17-jdk-headless and maven"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jdk-headless maven >/dev/null
fi

# The timeline app's build runs npm (fhirclient's browser bundle).
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: installing ${missing[*]}"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

mvn -B -ntp -q package -DskipTests -pl cds-service -am
# Unpacked, with a class-data-sharing archive: ready in about half the time of `java -jar` on the Boot jar.
launch=$(scripts/prepare-service.sh cds-service/target/all-cds-service-0.1.0-SNAPSHOT.jar cds-service/target/launch)
exec java ${JAVA_OPTS:-} $launch --spring.profiles.active=demo "$@"
