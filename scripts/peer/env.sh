# Shared settings of the peer scripts (sourced). Override with the environment.
# The peer: AHRQ CDS Connect CQL Services (Node, Express, cql-execution), run side by side with ours.
PEER_REPO="AHRQ-CDS/AHRQ-CDS-Connect-CQL-SERVICES"
# A clone of that repository: a work tree or a bare git directory (its HEAD is installed).
PEER_SOURCE="${PEER_SOURCE:-}"
# Where it is installed: outside this repository, never committed.
PEER_DIR="${PEER_DIR:-/work/peer/AHRQ-CDS-Connect-CQL-SERVICES}"
PEER_PORT="${PEER_PORT:-3333}"
