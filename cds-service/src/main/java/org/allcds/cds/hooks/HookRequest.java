package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.allcds.cds.fhirdata.FhirServerAccess;

/**
 * A CDS Hooks 2.0 request whose shape has been checked: every field the service relies on is
 * present and of the right JSON type.
 *
 * @param prefetch the prefetch by key; in a Bundle's entry array, an entry the data layer read from its tokens
 *     stands as it says ({@code PatientDataService.entryInTree}: its resource's type only)
 * @param readAhead for each entry array of a Bundle (by identity), what the data layer read from each entry
 *     where the body was parsed ({@code PatientDataService.readAhead}); empty when the body was parsed whole
 *     (it was not a well-formed object, or had a member twice: one parse words the error)
 */
public record HookRequest(
        String hook,
        String hookInstance,
        String patientId,
        JsonNode context,
        Map<String, JsonNode> prefetch,
        FhirServerAccess fhirServer,
        Map<JsonNode, Object[]> readAhead) {}
