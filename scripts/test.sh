#!/usr/bin/env bash
# Runs every test of the project: CQL unit cases, fixture checks, the service's tests (fixture
# replay, bad input, auth, fuzz) and the container end-to-end tests (Failsafe *IT).
# Installs what it needs on a bare machine: a JDK 17 and Maven if missing, a Docker engine and the
# local JRE base image (scripts/ensure-docker.sh) and PostgreSQL image (scripts/ensure-postgres-image.sh); node
# and npm (the timeline app's build) and chromium with chromium-driver (its browser test).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
  echo "test.sh: installing openjdk-17-jdk-headless and maven"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jdk-headless maven >/dev/null
fi

# The timeline app's build runs npm (fhirclient's browser bundle) and its browser test drives Debian's chromium through
# chromedriver (TimelineBrowserIT).
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

scripts/ensure-docker.sh
# the PostgreSQL image of the ledger's container test (LedgerReplicasIT), built from Debian packages
scripts/ensure-postgres-image.sh

# Images cannot be pulled here: no Ryuk sidecar; the containers are stopped by the tests themselves.
export TESTCONTAINERS_RYUK_DISABLED=true

# The LOINC check-digit check of the shared tools, when they are beside the repository.
if [ -x ../shared/tools/check-loinc ]; then
  ../shared/tools/check-loinc cql/src fhir-fixtures/src
fi

mvn -B -ntp verify "$@"

# The run command's start path, from a fresh working directory, on the jar the full build above made.
if [ $# -eq 0 ]; then
  scripts/check-run.sh
fi
