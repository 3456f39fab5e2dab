package org.allcds.cds.ledger;

import java.time.Duration;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code all-cds.ledger}: the card ledger (README, "Card ledger").
 *
 * @param enabled                record cards and feedback, hold back already-addressed cards (default true)
 * @param retention              rows older than this are deleted (default 400 days)
 * @param suppressAfterAddressed per card topic, how long an {@code already-addressed} override holds back the same
 *                               card (same patient, topic and evidence); {@code 0} turns it off for the topic; the key
 *                               {@code default} sets the period of every topic not named (default 14 days)
 * @param queueCapacity          cards waiting to be written; when full, new ones are dropped and counted
 * @param cleanupInterval        how often expired rows (retention, JWT ids) are deleted
 */
@ConfigurationProperties(prefix = "all-cds.ledger")
public record LedgerProperties(Boolean enabled, Duration retention, Map<String, Duration> suppressAfterAddressed,
        Integer queueCapacity, Duration cleanupInterval) {

    public static final Duration DEFAULT_SUPPRESSION = Duration.ofDays(14);

    public LedgerProperties {
        enabled = enabled == null || enabled;
        retention = retention == null ? Duration.ofDays(400) : retention;
        suppressAfterAddressed = suppressAfterAddressed == null ? Map.of() : Map.copyOf(suppressAfterAddressed);
        queueCapacity = queueCapacity == null ? 10_000 : queueCapacity;
        cleanupInterval = cleanupInterval == null ? Duration.ofHours(1) : cleanupInterval;
    }

    /** How long an already-addressed override holds back a card of this topic; zero: not at all. */
    public Duration suppressionOf(String topic) {
        Duration period = suppressAfterAddressed.get(topic);
        if (period == null) {
            period = suppressAfterAddressed.getOrDefault("default", DEFAULT_SUPPRESSION);
        }
        return period.isNegative() ? Duration.ZERO : period;
    }
}
