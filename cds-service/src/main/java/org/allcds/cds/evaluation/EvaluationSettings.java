package org.allcds.cds.evaluation;

import java.nio.file.Path;
import java.time.ZoneId;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Evaluation settings.
 *
 * @param parameters CQL parameter overrides, keyed by the parameter name in kebab case
 *     ({@code "Marrow Blast Threshold Percent"} -> {@code marrow-blast-threshold-percent})
 * @param valueSetsExtraDir a directory of site ValueSet JSON files whose codes are added to the defaults
 * @param timeZone the zone in which "today" is computed
 * @param interpreter evaluate with the CQL engine's own interpreter instead of the compiled ELM (same
 *     answers, several times slower): the reference to fall back on when a compiled answer is doubted
 */
@ConfigurationProperties(prefix = "all-cds.evaluation")
public record EvaluationSettings(Map<String, String> parameters, Path valueSetsExtraDir, ZoneId timeZone,
        boolean interpreter) {

    public EvaluationSettings {
        parameters = parameters == null ? Map.of() : Map.copyOf(parameters);
        timeZone = timeZone == null ? ZoneId.systemDefault() : timeZone;
    }
}
