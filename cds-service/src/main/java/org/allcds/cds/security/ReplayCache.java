package org.allcds.cds.security;

import java.time.Clock;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code jti}s seen, each until its token expires (plus clock skew): a token presented twice within
 * its lifetime is refused. Bounded per issuer: when an issuer's quota is full, its expired entries are
 * purged; if it is still full of live entries, that issuer's new token is refused (fail closed) rather than
 * an unexpired one forgotten. One issuer filling its quota never refuses another's tokens.
 */
final class ReplayCache {

    private final int capacityPerIssuer;
    private final Clock clock;
    /** Issuer -> its jtis. Issuers are the verified ones, from the configured allowlist: a handful. */
    private final Map<String, IssuerJtis> byIssuer = new ConcurrentHashMap<>();

    ReplayCache(int capacityPerIssuer, Clock clock) {
        this.capacityPerIssuer = capacityPerIssuer;
        this.clock = clock;
    }

    enum Result { FIRST_USE, REPLAYED, FULL }

    Result record(String issuer, String jti, Instant keepUntil) {
        return byIssuer.computeIfAbsent(issuer, i -> new IssuerJtis()).record(jti, keepUntil, clock.instant());
    }

    /** The jtis remembered, all issuers together. */
    int size() {
        return byIssuer.values().stream().mapToInt(IssuerJtis::size).sum();
    }

    private final class IssuerJtis {
        /** jti -> expiry; insertion order, so the oldest entries are purged first. */
        private final LinkedHashMap<String, Instant> seen = new LinkedHashMap<>();

        synchronized Result record(String jti, Instant keepUntil, Instant now) {
            Instant earlier = seen.get(jti);
            if (earlier != null && earlier.isAfter(now)) {
                return Result.REPLAYED;
            }
            if (seen.size() >= capacityPerIssuer) {
                purge(now);
                if (seen.size() >= capacityPerIssuer) {
                    return Result.FULL;
                }
            }
            seen.remove(jti);
            seen.put(jti, keepUntil);
            return Result.FIRST_USE;
        }

        private void purge(Instant now) {
            for (Iterator<Map.Entry<String, Instant>> it = seen.entrySet().iterator(); it.hasNext(); ) {
                if (!it.next().getValue().isAfter(now)) {
                    it.remove();
                }
            }
        }

        synchronized int size() {
            return seen.size();
        }
    }
}
