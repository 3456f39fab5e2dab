package org.allcds.cds.fhirdata;

/**
 * A prefetch key as the data layer needs it: its name, the FHIR query to run when the EHR did not prefetch it
 * ({@code {{context.patientId}}} still in it), and the resource type each resource under it must have
 * ({@code Patient} for a read, the entry type for a search Bundle).
 */
public record PrefetchKey(String name, String query, String resourceType) {

    /** A read of one resource ({@code Patient/{{context.patientId}}}), not a search. */
    boolean isRead() {
        return !query.contains("?");
    }
}
