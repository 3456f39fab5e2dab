package org.allcds.cds.ledger;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import org.allcds.cds.security.SharedReplayStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;

/**
 * The replicas' shared {@code jti} store: one insert per verified token under the unique key (issuer, jti); expired
 * rows are deleted by the ledger's clean-up. The per-issuer quota stays with each replica's own replay cache, checked
 * first. While the database fails, tokens are checked by that replica's cache alone (a replay to the same replica is
 * still refused), counted in {@code allcds_ledger_failures_total{kind="jwt-id"}} and logged once: the service keeps
 * answering rather than refusing every call.
 */
final class JdbcReplayStore implements SharedReplayStore {

    private static final Logger log = LoggerFactory.getLogger(JdbcReplayStore.class);

    private final LedgerStore store;
    private final LedgerMetrics metrics;
    private final Clock clock = Clock.systemUTC();
    private final AtomicBoolean failing = new AtomicBoolean();

    JdbcReplayStore(LedgerStore store, LedgerMetrics metrics) {
        this.store = store;
        this.metrics = metrics;
    }

    @Override
    public boolean firstUse(String issuer, String jti, Instant keepUntil) {
        try {
            boolean first = store.firstUseOfJwtId(issuer, jti, keepUntil, clock.instant());
            if (failing.compareAndSet(true, false)) {
                log.info("jti store: shared again through the database");
            }
            return first;
        } catch (DataAccessException e) {
            metrics.failure(LedgerMetrics.Failure.JWT_ID, 1);
            if (failing.compareAndSet(false, true)) {
                log.warn("jti store: the database cannot be reached ({}); token ids are checked by this replica alone"
                        + " until it answers (logged once)", e.toString());
            }
            return true;
        }
    }
}
