package org.allcds.cds.cards;

import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param sourceLabel {@code source.label} of every card
 * @param treatmentOptionCodes the option codes the contract allows; anything else from the CQL is a defect
 * @param overrideReasons the {@code overrideReasons} every card offers (system {@code urn:all-cds:override-reason})
 * @param publicBaseUrl the service's address as the clinician's browser reaches it: cards link the
 *     disease-course timeline app under it ({@code /timeline/launch.html})
 */
@ConfigurationProperties(prefix = "all-cds.cards")
public record CardSettings(String sourceLabel, List<String> treatmentOptionCodes, List<OverrideReason> overrideReasons,
        String publicBaseUrl) {

    public static final String DEFAULT_PUBLIC_BASE_URL = "http://localhost:8080";

    public CardSettings {
        sourceLabel = sourceLabel == null ? "ALL remission and relapse CDS" : sourceLabel;
        treatmentOptionCodes = treatmentOptionCodes == null ? List.of() : List.copyOf(treatmentOptionCodes);
        overrideReasons = overrideReasons == null ? List.of() : List.copyOf(overrideReasons);
        publicBaseUrl = publicBaseUrl == null || publicBaseUrl.isBlank() ? DEFAULT_PUBLIC_BASE_URL
                : publicBaseUrl.replaceAll("/+$", "");
    }

    /** A coded reason a clinician can give for dismissing a card, with its display. */
    public record OverrideReason(String code, String display) {}
}
