package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.allcds.cds.fhirdata.FhirServerAccess;

/**
 * A CDS Hooks 2.0 hook request whose shape has been checked ({@link HookRequestParser}): each member the
 * specification defines, typed. The prefetch values stay JSON: the data layer decides what each one means
 * (data, {@code null}, an OperationOutcome, a paged Bundle) and reads the resources.
 *
 * @param fhirServer the FHIR server base URL; null when the EHR sent none
 * @param fhirAuthorization the bearer token for {@code fhirServer}; null when none was sent
 * @param prefetch the prefetch values by key, as the JSON sent (each an object or JSON null)
 */
public record HookRequest(
        String hook,
        UUID hookInstance,
        String fhirServer,
        FhirAuthorization fhirAuthorization,
        Context context,
        Map<String, JsonNode> prefetch) {

    /**
     * The hook's context as this service's hooks (patient-view, order-select) define it.
     *
     * @param userId who is using the EHR, e.g. {@code Practitioner/123}; null when not sent
     * @param encounterId null when not sent
     * @param selections order-select: the orders being selected now ({@code Type/id}); null when not sent
     * @param draftOrders order-select: the Bundle of orders on the form, as JSON (the data layer reads it); null otherwise
     */
    public record Context(String patientId, String userId, String encounterId, List<String> selections, JsonNode draftOrders) {}

    /** CDS Hooks 2.0 {@code fhirAuthorization}; the token is left out of {@link #toString()}. */
    public record FhirAuthorization(String accessToken, String tokenType, Long expiresIn, String scope, String subject,
            String patient) {
        @Override
        public String toString() {
            return "FhirAuthorization[token_type=" + tokenType + ", expires_in=" + expiresIn + ", scope=" + scope
                    + ", subject=" + subject + ", patient=" + patient + "]";
        }
    }

    public String patientId() {
        return context.patientId();
    }

    /** Where to fetch what was not prefetched, with the bearer token; null when the EHR named no fhirServer. */
    public FhirServerAccess fhirServerAccess() {
        return fhirServer == null ? null
                : new FhirServerAccess(fhirServer, fhirAuthorization == null ? null : fhirAuthorization.accessToken());
    }
}
