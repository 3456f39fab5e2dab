# Shared settings of the peer scripts (sourced). Override with the environment.
# The peer: AHRQ CDS Connect CQL Services (Node, Express, cql-execution), run side by side with ours.
PEER_REPO="AHRQ-CDS/AHRQ-CDS-Connect-CQL-SERVICES"
# Where the session's `fetch` tool puts its snapshot of the public repository (a git directory, no work tree).
PEER_MIRROR="${PEER_MIRROR:-/work/.mirror/AHRQ-CDS+AHRQ-CDS-Connect-CQL-SERVICES/repo}"
# Where it is installed: outside this repository, never committed.
PEER_DIR="${PEER_DIR:-/work/peer/AHRQ-CDS-Connect-CQL-SERVICES}"
PEER_PORT="${PEER_PORT:-3333}"
