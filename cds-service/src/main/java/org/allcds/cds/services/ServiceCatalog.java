package org.allcds.cds.services;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** The configured CDS services ({@code all-cds.services} in {@code cds-services.yml}), by id. */
@ConfigurationProperties(prefix = "all-cds")
public class ServiceCatalog {

    private final Map<String, ServiceDefinition> byId = new LinkedHashMap<>();

    public ServiceCatalog(List<ServiceDefinition> services) {
        if (services == null || services.isEmpty()) {
            throw new IllegalStateException("no CDS services configured (all-cds.services)");
        }
        for (ServiceDefinition s : services) {
            if (byId.put(s.id(), s) != null) {
                throw new IllegalStateException("duplicate CDS service id " + s.id());
            }
        }
    }

    public List<ServiceDefinition> all() {
        return List.copyOf(byId.values());
    }

    public Optional<ServiceDefinition> find(String id) {
        return Optional.ofNullable(byId.get(id));
    }
}
