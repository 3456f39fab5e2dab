package org.allcds.cql;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import org.junit.jupiter.api.Test;

/** A coding is known when some value set holds its code under its system: both must match. */
class ValueSetRepositoryTest {

    private static final ValueSetRepository VALUE_SETS = ValueSetRepository.load(FhirContext.forR4Cached(), null);

    @Test
    void aCodingIsKnownOnlyByItsCodeUnderItsOwnSystem() {
        assertThat(VALUE_SETS.allMembers()).isNotEmpty()
                .allSatisfy(m -> assertThat(VALUE_SETS.isKnownCode(m.system(), m.code())).as(m.key()).isTrue());
        assertThat(VALUE_SETS.isKnownCode("http://loinc.org", "6690-2")).isTrue(); // WBC
        assertThat(VALUE_SETS.isKnownCode("http://snomed.info/sct", "6690-2")).as("another system").isFalse();
        assertThat(VALUE_SETS.isKnownCode("http://loinc.org", "2160-0")).as("creatinine: no rule reads it").isFalse();
        assertThat(VALUE_SETS.isKnownCode(null, "6690-2")).isFalse();
        assertThat(VALUE_SETS.isKnownCode("http://loinc.org", null)).isFalse();
        assertThat(VALUE_SETS.isKnownCode("null", "6690-2")).isFalse();
    }
}
