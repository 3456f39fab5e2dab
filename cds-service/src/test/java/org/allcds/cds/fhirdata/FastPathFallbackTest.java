package org.allcds.cds.fhirdata;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.allcds.cds.config.FastPathFallbackMetrics;
import org.allcds.cql.FastPathFallbacks;
import org.hl7.fhir.r4.model.Observation;
import org.junit.jupiter.api.Test;

/** A fast path that gives up is counted, and the count is the service's metric (the cause is logged once). */
class FastPathFallbackTest {

    @Test
    void aValueTheDirectReaderGivesUpOnIsCountedInTheMetric() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new FastPathFallbackMetrics().bindTo(registry);
        double before = registry.get("all_cds_fast_path_fallbacks").tag("path", "direct-read-value").functionCounter().count();
        ObjectNode observation = (ObjectNode) new ObjectMapper().readTree("""
                {"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/p1"},
                 "code":{"coding":[{"system":"http://loinc.org","code":"6690-2"}]},
                 "effectiveDateTime":"2026-13-45"}""");

        assertThat(DirectResourceReader.read(Observation.class, observation)).as("given up: HAPI's parser reads it").isNull();

        assertThat(FastPathFallbacks.count("direct-read-value")).isEqualTo((long) before + 1);
        assertThat(registry.get("all_cds_fast_path_fallbacks").tag("path", "direct-read-value").functionCounter().count())
                .isEqualTo(before + 1);
    }
}
