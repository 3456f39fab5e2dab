package org.allcds.cds.fhirdata;

/**
 * Where to fetch what the EHR did not prefetch: the hook's {@code fhirServer} and the bearer token
 * of {@code fhirAuthorization}. The token is never logged: {@link #toString()} leaves it out.
 */
public record FhirServerAccess(String baseUrl, String accessToken) {

    @Override
    public String toString() {
        return "FhirServerAccess[" + baseUrl + ", token " + (accessToken == null ? "none" : "present") + "]";
    }
}
