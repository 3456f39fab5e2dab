package org.allcds.cds.cards;

import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param sourceLabel {@code source.label} of every card
 * @param treatmentOptionCodes the option codes the contract allows; anything else from the CQL is a defect
 */
@ConfigurationProperties(prefix = "all-cds.cards")
public record CardSettings(String sourceLabel, List<String> treatmentOptionCodes) {

    public CardSettings {
        sourceLabel = sourceLabel == null ? "ALL remission and relapse CDS" : sourceLabel;
        treatmentOptionCodes = treatmentOptionCodes == null ? List.of() : List.copyOf(treatmentOptionCodes);
    }
}
