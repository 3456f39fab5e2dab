package org.allcds.cds.evaluation;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.allcds.cql.CqlLogic;
import org.allcds.cql.PatientRecord;
import org.allcds.cql.ValueSetRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;

/**
 * The one place CQL is evaluated. Holds the shared, warmed {@link CqlLogic}; turns configured
 * threshold overrides into typed CQL parameter values once, at start-up, failing fast on a name
 * no library declares or a value of the wrong type.
 */
@Service
public class CqlEvaluationService {

    private static final Logger log = LoggerFactory.getLogger(CqlEvaluationService.class);

    private final CqlLogic logic;
    private final Clock clock;
    private final EvaluationSettings settings;
    private final Map<String, Object> parameterValues;

    public CqlEvaluationService(ValueSetRepository valueSets, ca.uhn.fhir.context.FhirContext fhirContext,
            EvaluationSettings settings, Clock clock) {
        long start = System.nanoTime();
        this.settings = settings;
        this.clock = clock;
        this.logic = CqlLogic.load(valueSets, fhirContext);
        this.parameterValues = resolveParameters(settings.parameters());
        log.info("CQL logic loaded in {} ms; evaluated by {}; parameter overrides: {}",
                (System.nanoTime() - start) / 1_000_000, interpreted() ? "the engine's interpreter" : "the compiled ELM",
                parameterValues.isEmpty() ? "none" : parameterValues);
    }

    /** Keys {@code system|code} of every Observation code the CQL retrieves (worked out from the ELM at start-up). */
    public Set<String> observationCodesRead() {
        return logic.observationCodesRead();
    }

    public ValueSetRepository valueSets() {
        return logic.valueSets();
    }

    /** Evaluates the given definitions of a library for one patient, now. */
    public Map<String, Object> evaluate(String library, Set<String> definitions, PatientRecord record) {
        return evaluate(library, definitions, record, Map.of()).values();
    }

    /**
     * The definitions that could be evaluated, and the error of each one that could not: one failing
     * definition loses only what depends on it, never the whole call (clinical-rules.md, "Safety").
     *
     * @param callParameters parameters set by the call itself (order-select's selections), beside the configured ones
     */
    public Evaluation evaluate(String library, Set<String> definitions, PatientRecord record,
            Map<String, Object> callParameters) {
        ZonedDateTime now = ZonedDateTime.now(clock.withZone(settings.timeZone()));
        Map<String, Object> parameters = parameterValues;
        if (!callParameters.isEmpty()) {
            parameters = new LinkedHashMap<>(parameterValues);
            parameters.putAll(callParameters);
        }
        try {
            return new Evaluation(interpreted()
                    ? logic.evaluateWithEngine(library, definitions, record, parameters, now)
                    : logic.evaluate(library, definitions, record, parameters, now), Map.of());
        } catch (RuntimeException e) {
            // Rare: each definition again on its own, so the ones that can be evaluated still give their cards.
            Map<String, RuntimeException> failures = new LinkedHashMap<>();
            Map<String, Object> values = logic.evaluateEach(library, definitions, record, parameters, now,
                    interpreted(), failures);
            return new Evaluation(values, Map.copyOf(failures));
        }
    }

    /**
     * @param values   definition name -> value, for every definition that could be evaluated
     * @param failures definition name -> its error, for each one that could not (empty: complete)
     */
    public record Evaluation(Map<String, Object> values, Map<String, RuntimeException> failures) {

        public boolean complete() {
            return failures.isEmpty();
        }

        public boolean failed(String definition) {
            return failures.containsKey(definition);
        }
    }

    /** True when the engine's interpreter evaluates: configured so, or the ELM could not be compiled. */
    public boolean interpreted() {
        return settings.interpreter() || !logic.isCompiled();
    }

    public Set<String> definitionNames(String library) {
        return logic.definitionNames(library);
    }

    public Map<String, String> declaredParameters() {
        Map<String, String> all = new LinkedHashMap<>();
        for (String library : logic.libraryNames()) {
            all.putAll(logic.parameters(library));
        }
        return all;
    }

    private Map<String, Object> resolveParameters(Map<String, String> overrides) {
        Map<String, String> declared = declaredParameters();
        Map<String, String> byKebab = new LinkedHashMap<>();
        declared.keySet().forEach(name -> byKebab.put(kebab(name), name));
        Map<String, Object> values = new LinkedHashMap<>();
        Set<String> unknown = new LinkedHashSet<>();
        overrides.forEach((key, raw) -> {
            String name = byKebab.get(kebab(key));
            if (name == null) {
                unknown.add(key);
                return;
            }
            String type = declared.get(name);
            try {
                values.put(name, switch (type) {
                    case "Integer" -> Integer.valueOf(raw.strip());
                    case "Decimal" -> new BigDecimal(raw.strip());
                    case "Boolean" -> Boolean.valueOf(raw.strip());
                    case "String" -> raw;
                    default -> throw new IllegalStateException("parameter " + name + " has type " + type
                            + ", which cannot be set from configuration");
                });
            } catch (NumberFormatException e) {
                throw new IllegalStateException("all-cds.evaluation.parameters." + key + "=" + raw + " is not a valid " + type);
            }
        });
        if (!unknown.isEmpty()) {
            throw new IllegalStateException("unknown CQL parameters in all-cds.evaluation.parameters: " + unknown
                    + "; known: " + byKebab.keySet());
        }
        return Map.copyOf(values);
    }

    /** "ANC Min 10*9/L" -> "anc-min-10-9-l": a property-name-safe form of a CQL parameter name. */
    static String kebab(String name) {
        return name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
    }
}
