package org.allcds.cds.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The jtis seen, per issuer: a replay is refused; one issuer filling its quota never locks out another. */
class ReplayCacheTest {

    private static final Instant NOW = Instant.parse("2025-06-01T12:00:00Z");
    private final ReplayCache cache = new ReplayCache(3, Clock.fixed(NOW, ZoneOffset.UTC));

    @Test
    void aJtiSeenBeforeItsTokenExpiresIsAReplay() {
        assertThat(cache.record("a", "j1", NOW.plusSeconds(60))).isEqualTo(ReplayCache.Result.FIRST_USE);
        assertThat(cache.record("a", "j1", NOW.plusSeconds(60))).isEqualTo(ReplayCache.Result.REPLAYED);
        assertThat(cache.record("b", "j1", NOW.plusSeconds(60))).as("another issuer's jti").isEqualTo(ReplayCache.Result.FIRST_USE);
    }

    @Test
    void oneIssuerFillingItsQuotaDoesNotLockOutAnother() {
        for (int i = 0; i < 3; i++) {
            assertThat(cache.record("flooder", "j" + i, NOW.plusSeconds(300))).isEqualTo(ReplayCache.Result.FIRST_USE);
        }
        assertThat(cache.record("flooder", "j3", NOW.plusSeconds(300))).isEqualTo(ReplayCache.Result.FULL);
        assertThat(cache.record("other", "j0", NOW.plusSeconds(300))).isEqualTo(ReplayCache.Result.FIRST_USE);
        assertThat(cache.record("other", "j1", NOW.plusSeconds(300))).isEqualTo(ReplayCache.Result.FIRST_USE);
    }

    @Test
    void expiredJtisMakeRoom() {
        for (int i = 0; i < 3; i++) {
            cache.record("a", "old" + i, NOW.minusSeconds(1));
        }
        assertThat(cache.record("a", "new", NOW.plusSeconds(60))).isEqualTo(ReplayCache.Result.FIRST_USE);
        assertThat(cache.size()).isEqualTo(1);
    }
}
