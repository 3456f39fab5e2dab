package org.allcds.cds.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class CanonicalPathFilterTest {

    @Test
    void normalPathsPass() {
        for (String path : List.of("/", "/cds-services", "/cds-services/", "/cds-services/all-disease-status/feedback",
                "/actuator/health/liveness", "/a/..b/.c/c.")) {
            assertThat(CanonicalPathFilter.isNormalForm(path)).as(path).isTrue();
        }
    }

    @Test
    void otherSpellingsAreRefused() {
        for (String path : List.of("", "cds-services", "//cds-services", "/cds-services//x", "/cds-services//",
                "/cds-services;x", "/cds-services;", "/%63ds-services", "/cds-services%2Fx", "/cds-services\\x",
                "/./cds-services", "/x/../cds-services", "/cds-services/.", "/cds-services/..", "/.", "/..")) {
            assertThat(CanonicalPathFilter.isNormalForm(path)).as(path).isFalse();
        }
    }
}
