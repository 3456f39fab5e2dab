package org.allcds.cds.services;

import java.util.List;
import java.util.Map;

/**
 * One CDS service as configured in {@code cds-services.yml}: its discovery entry, the CQL library
 * that decides, and the cards it can return. Adding a card is a configuration change only.
 */
public record ServiceDefinition(
        String id,
        String hook,
        String title,
        String description,
        String library,
        String gate,
        Map<String, PrefetchDefinition> prefetch,
        List<CardDefinition> cards) {

    public ServiceDefinition {
        // Keeps the configured order: discovery lists the keys as written.
        prefetch = prefetch == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(prefetch));
        cards = cards == null ? List.of() : List.copyOf(cards);
    }
}
