#!/usr/bin/env bash
# Installs the peer (AHRQ CDS Connect CQL Services) outside this repository from a clone of its repository
# ($PEER_SOURCE: a work tree or a bare git directory; its HEAD is installed), then `npm ci` from its
# npm-shrinkwrap.json. Nothing of it is committed. Without a clone it says so and exits 0: the load script then
# skips the peer.
#   git clone https://github.com/AHRQ-CDS/AHRQ-CDS-Connect-CQL-SERVICES /some/path
#   PEER_SOURCE=/some/path scripts/peer/install.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"

git_dir=""
if [[ -n "$PEER_SOURCE" && -d "$PEER_SOURCE/.git" ]]; then
  git_dir="$PEER_SOURCE/.git" # a work tree
elif [[ -n "$PEER_SOURCE" && -f "$PEER_SOURCE/HEAD" ]]; then
  git_dir="$PEER_SOURCE" # a bare git directory
fi
if [[ -z "$git_dir" ]] || ! git --git-dir="$git_dir" rev-parse --verify -q HEAD >/dev/null 2>&1; then
  echo "peer/install.sh: no clone of $PEER_REPO at PEER_SOURCE="$PEER_SOURCE"; skipping the peer."
  echo "peer/install.sh: set PEER_SOURCE to a clone of https://github.com/$PEER_REPO to install it."
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "peer/install.sh: npm not found; install Node.js and npm first (e.g. apt-get install nodejs npm)"
  exit 1
fi

commit="$(git --git-dir="$git_dir" rev-parse HEAD)"
if [[ -f "$PEER_DIR/.snapshot-commit" && "$(cat "$PEER_DIR/.snapshot-commit")" == "$commit" && -d "$PEER_DIR/node_modules" ]]; then
  echo "peer/install.sh: $PEER_REPO $commit already installed in $PEER_DIR"
  exit 0
fi
rm -rf "$PEER_DIR"
mkdir -p "$PEER_DIR"
git --git-dir="$git_dir" archive --format=tar "$commit" | tar -x -C "$PEER_DIR"
echo "$commit" > "$PEER_DIR/.snapshot-commit"
echo "peer/install.sh: $PEER_REPO $commit from $PEER_SOURCE -> $PEER_DIR (node $(node --version), npm $(npm --version))"
(cd "$PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
echo "peer/install.sh: done; next: scripts/peer/configure.sh"
