package org.allcds.cds.services;

/**
 * A prefetch key: the FHIR query template the EHR should run, and the resource type each returned
 * resource must have ({@code Patient} for a read, the entry type for a search Bundle).
 */
public record PrefetchDefinition(String query, String resourceType) {

    public boolean isRead() {
        return !query.contains("?");
    }
}
