#!/usr/bin/env bash
# Installs the peer (AHRQ CDS Connect CQL Services) outside this repository, from the snapshot that the
# session's `fetch` tool brought to $PEER_MIRROR (github:AHRQ-CDS/AHRQ-CDS-Connect-CQL-SERVICES), then
# `npm ci` from its npm-shrinkwrap.json (the npm registry is reachable here). Nothing of it is committed.
# On a machine without that snapshot it says so and exits 0: the load script then skips the peer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"

if ! git --git-dir="$PEER_MIRROR" rev-parse --verify -q HEAD >/dev/null 2>&1; then
  echo "peer/install.sh: no snapshot of $PEER_REPO at $PEER_MIRROR (it comes from the session's fetch tool);"
  echo "peer/install.sh: skipping the peer. Set PEER_MIRROR to a git directory of that repository to install it."
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "peer/install.sh: npm not found; installing nodejs and npm (Debian packages)"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
fi

commit="$(git --git-dir="$PEER_MIRROR" rev-parse HEAD)"
if [[ -f "$PEER_DIR/.snapshot-commit" && "$(cat "$PEER_DIR/.snapshot-commit")" == "$commit" && -d "$PEER_DIR/node_modules" ]]; then
  echo "peer/install.sh: $PEER_REPO $commit already installed in $PEER_DIR"
  exit 0
fi
rm -rf "$PEER_DIR"
mkdir -p "$PEER_DIR"
git --git-dir="$PEER_MIRROR" archive --format=tar "$commit" | tar -x -C "$PEER_DIR"
echo "$commit" > "$PEER_DIR/.snapshot-commit"
echo "peer/install.sh: $PEER_REPO $commit -> $PEER_DIR (node $(node --version), npm $(npm --version))"
(cd "$PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
echo "peer/install.sh: done; next: scripts/peer/configure.sh"
