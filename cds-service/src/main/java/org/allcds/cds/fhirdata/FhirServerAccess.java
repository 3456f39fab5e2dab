package org.allcds.cds.fhirdata;

/**
 * Where to fetch what the EHR did not prefetch: the hook's {@code fhirServer}, the bearer token of
 * {@code fhirAuthorization}, and the verified issuer of the call (null with auth off), which decides
 * the FHIR servers allowed. The token is never logged: {@link #toString()} leaves it out.
 */
public record FhirServerAccess(String baseUrl, String accessToken, String issuer) {

    public FhirServerAccess(String baseUrl, String accessToken) {
        this(baseUrl, accessToken, null);
    }

    /** The same access on behalf of the caller the authentication filter verified. */
    public FhirServerAccess onBehalfOf(String verifiedIssuer) {
        return new FhirServerAccess(baseUrl, accessToken, verifiedIssuer);
    }

    @Override
    public String toString() {
        return "FhirServerAccess[" + baseUrl + ", token " + (accessToken == null ? "none" : "present")
                + ", issuer " + issuer + "]";
    }
}
