package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.allcds.cds.fhirdata.FhirServerAccess;

/**
 * A CDS Hooks 2.0 request whose shape has been checked: every field the service relies on is
 * present and of the right JSON type.
 */
public record HookRequest(
        String hook,
        String hookInstance,
        String patientId,
        JsonNode context,
        Map<String, JsonNode> prefetch,
        FhirServerAccess fhirServer) {}
