package org.allcds.cds.security;

import java.time.Clock;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code jti}s seen, each until its token expires (plus clock skew): a token presented twice within
 * its lifetime is refused. Bounded: when full, expired entries are purged; if it is still full of live
 * entries, the new token is refused (fail closed) rather than an unexpired one forgotten.
 */
final class ReplayCache {

    private final int capacity;
    private final Clock clock;
    /** key -> expiry; insertion order, so the oldest entries are purged first. */
    private final LinkedHashMap<String, Instant> seen = new LinkedHashMap<>();

    ReplayCache(int capacity, Clock clock) {
        this.capacity = capacity;
        this.clock = clock;
    }

    enum Result { FIRST_USE, REPLAYED, FULL }

    synchronized Result record(String issuer, String jti, Instant keepUntil) {
        Instant now = clock.instant();
        String key = issuer + '\u0000' + jti;
        Instant earlier = seen.get(key);
        if (earlier != null && earlier.isAfter(now)) {
            return Result.REPLAYED;
        }
        if (seen.size() >= capacity) {
            purge(now);
            if (seen.size() >= capacity) {
                return Result.FULL;
            }
        }
        seen.remove(key);
        seen.put(key, keepUntil);
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
