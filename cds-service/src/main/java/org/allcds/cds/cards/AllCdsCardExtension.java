package org.allcds.cds.cards;

import ca.uhn.fhir.rest.api.server.cdshooks.CdsHooksExtension;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/** The card's {@code extension} object: {@code {"all-cds": {evidence, treatmentOptions, ...}}} (card-contract.md). */
public class AllCdsCardExtension extends CdsHooksExtension {

    @JsonProperty("all-cds")
    private final Map<String, Object> allCds;

    public AllCdsCardExtension(Map<String, Object> allCds) {
        this.allCds = allCds;
    }

    public Map<String, Object> allCds() {
        return allCds;
    }
}
