package org.allcds.cds.config;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.List;
import org.allcds.cql.FastPathFallbacks;
import org.springframework.stereotype.Component;

/**
 * {@code all_cds_fast_path_fallbacks_total{path=...}}: how often each fast path gave up and the stock way answered
 * (each cause is also logged once, by {@link FastPathFallbacks}). A rising count is a broken fast path that would
 * otherwise show only as latency.
 */
@Component
public class FastPathFallbackMetrics implements MeterBinder {

    /** Every path that records a fallback. */
    static final List<String> PATHS = List.of("elm-compile", "unit-factor", "direct-read-value");

    @Override
    public void bindTo(MeterRegistry registry) {
        for (String path : PATHS) {
            FunctionCounter.builder("all_cds_fast_path_fallbacks", path, FastPathFallbacks::count)
                    .tag("path", path)
                    .description("a fast path gave up and the stock way answered instead")
                    .register(registry);
        }
    }
}
