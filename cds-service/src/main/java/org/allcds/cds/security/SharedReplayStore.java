package org.allcds.cds.security;

import java.time.Instant;

/**
 * The {@code jti}s seen by every replica (the ledger's database): a token replayed to another replica than the one
 * it was first presented to is refused there too. Checked after this replica's own {@link ReplayCache}.
 */
public interface SharedReplayStore {

    /**
     * Records the token id until {@code keepUntil}.
     *
     * @return false when the same issuer's token id is already recorded and unexpired (a replay)
     */
    boolean firstUse(String issuer, String jti, Instant keepUntil);
}
