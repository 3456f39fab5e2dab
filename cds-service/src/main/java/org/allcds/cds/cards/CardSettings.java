package org.allcds.cds.cards;

import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param sourceLabel {@code source.label} of every card
 * @param treatmentOptionCodes the option codes the contract allows; anything else from the CQL is a defect
 * @param publicBaseUrl the service's address as the clinician's browser reaches it: cards link the
 *     disease-course timeline app under it ({@code /timeline/launch.html})
 */
@ConfigurationProperties(prefix = "all-cds.cards")
public record CardSettings(String sourceLabel, List<String> treatmentOptionCodes, String publicBaseUrl) {

    public static final String DEFAULT_PUBLIC_BASE_URL = "http://localhost:8080";

    public CardSettings {
        sourceLabel = sourceLabel == null ? "ALL remission and relapse CDS" : sourceLabel;
        treatmentOptionCodes = treatmentOptionCodes == null ? List.of() : List.copyOf(treatmentOptionCodes);
        publicBaseUrl = publicBaseUrl == null || publicBaseUrl.isBlank() ? DEFAULT_PUBLIC_BASE_URL
                : publicBaseUrl.replaceAll("/+$", "");
    }
}
