package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.allcds.cds.fhirdata.FhirServerAccess;

/**
 * A CDS Hooks 2.0 request whose shape has been checked: every field the service relies on is
 * present and of the right JSON type.
 *
 * @param readAhead for a long Bundle's entry array (by identity), what the data layer read from each entry
 *     as soon as it was parsed ({@code PatientDataService.readAhead}); empty when the body was parsed whole
 */
public record HookRequest(
        String hook,
        String hookInstance,
        String patientId,
        JsonNode context,
        Map<String, JsonNode> prefetch,
        FhirServerAccess fhirServer,
        Map<JsonNode, Object[]> readAhead) {}
