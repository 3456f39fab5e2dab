package org.allcds.cds.ledger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import org.springframework.stereotype.Component;

/**
 * The service's own Prometheus metrics ({@code /actuator/prometheus}): hook calls and their latency, cards per
 * topic, feedback outcomes, ledger failures. Tag values come from configuration (service ids, topics) or fixed sets.
 */
@Component
public class LedgerMetrics {

    /** Why a ledger operation failed or was skipped: a tag value of {@code allcds_ledger_failures_total}. */
    public enum Failure { QUEUE_FULL, WRITE, READ, FEEDBACK, JWT_ID }

    private final MeterRegistry registry;

    public LedgerMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void hookCall(String service, int status, long nanos) {
        Timer.builder("allcds.hook.calls").description("CDS hook calls and their latency")
                .tag("service", service).tag("status", Integer.toString(status))
                .publishPercentiles(0.5, 0.99)
                .register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    public void cardIssued(String service, String topic) {
        Counter.builder("allcds.cards.issued").description("cards answered, per service and topic")
                .tag("service", service).tag("topic", topic).register(registry).increment();
    }

    public void cardSuppressed(String service, String topic) {
        Counter.builder("allcds.cards.suppressed").description("cards held back after an already-addressed override")
                .tag("service", service).tag("topic", topic).register(registry).increment();
    }

    public void feedback(String service, String outcome) {
        Counter.builder("allcds.feedback.items").description("feedback items received, per outcome")
                .tag("service", service).tag("outcome", outcome).register(registry).increment();
    }

    public void failure(Failure failure, long count) {
        Counter.builder("allcds.ledger.failures").description("ledger rows not written or reads not made")
                .tag("kind", failure.name().toLowerCase().replace('_', '-')).register(registry).increment(count);
    }

    public double failures(Failure failure) {
        Counter counter = registry.find("allcds.ledger.failures").tag("kind", failure.name().toLowerCase().replace('_', '-')).counter();
        return counter == null ? 0 : counter.count();
    }
}
