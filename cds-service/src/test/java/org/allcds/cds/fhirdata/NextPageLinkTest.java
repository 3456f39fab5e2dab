package org.allcds.cds.fhirdata;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Next-page links are followed (with the bearer token) only when they stay on the fhirServer. */
class NextPageLinkTest {

    @ParameterizedTest(name = "{1} -> {2}")
    @CsvSource({
        "http://fhir:8080/fhir/, http://fhir:8080/fhir?_getpages=abc&_getpagesoffset=10, true",
        "http://fhir:8080/fhir/, http://fhir:8080/fhir/Observation?patient=1&page=2, true",
        "https://ehr.example.org/fhir/, https://EHR.example.org:443/fhir?page=2, true",
        "http://fhir:8080/fhir/, http://fhir:8081/fhir?_getpages=abc, false",
        "http://fhir:8080/fhir/, http://evil:8080/fhir?_getpages=abc, false",
        "https://ehr.example.org/fhir/, http://ehr.example.org/fhir?page=2, false",
        "http://fhir:8080/fhir/, http://fhir:8080/fhirx?page=2, false",
        "http://fhir:8080/fhir/, http://fhir:8080/fhir/../admin?page=2, false",
        "http://fhir:8080/fhir/, http://user@fhir:8080/fhir?page=2, false",
        "http://fhir:8080/fhir/, /fhir?page=2, false",
        // encoded dots and slashes climb out of the base on servers that decode before routing
        "https://ehr/fhir/, https://ehr/fhir/%2e%2e/admin?x, false",
        "https://ehr/fhir/, https://ehr/fhir/%2E%2E/admin?x, false",
        "https://ehr/fhir/, https://ehr/fhir/.%2e/admin?x, false",
        "https://ehr/fhir/, https://ehr/fhir/%2e./admin?x, false",
        "https://ehr/fhir/, https://ehr/fhir/..%2fadmin?x, false",
        "https://ehr/fhir/, https://ehr/fhir/%2e%2e%2fadmin?x, false",
        "https://ehr/fhir/, https://ehr/fhir/..%5cadmin?x, false",
        "https://ehr/fhir/, https://ehr/fhir/%252e%252e/admin?x, false",
        "https://ehr/fhir/, https://ehr/fhir/./Observation?x, false",
        "https://ehr/fhir/, https://ehr/fhir/Observation/..?x, false",
        "https://ehr/fhir/, https://ehr/fhir/Observation?_getpages=a%2e%2e&x=%2f, true",
    })
    void staysOnTheServer(String base, String link, boolean followed) {
        assertThat(FhirServerFetcher.sameServer(base, link)).isEqualTo(followed);
    }
}
