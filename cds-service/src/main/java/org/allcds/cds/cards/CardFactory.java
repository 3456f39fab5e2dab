package org.allcds.cds.cards;

import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceIndicatorEnum;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCardJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCardSourceJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCodingJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseLinkJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseSuggestionActionJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseSuggestionJson;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.allcds.cds.services.CardDefinition;
import org.allcds.cds.services.ServiceDefinition;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.ServiceRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The one place cards are built: renders what the CQL decided, through the card templates of the
 * service configuration. It decides nothing clinical; it refuses to emit a card that would be
 * incomplete (a fired card with no evidence, a treatment card with no options or an unknown code).
 */
@Component
public class CardFactory {

    public static final String TOPIC_SYSTEM = "urn:all-cds:card-topic";
    public static final String OVERRIDE_REASON_SYSTEM = "urn:all-cds:override-reason";
    /** The service card topic for an evaluation that could not decide every card (card-contract.md). */
    public static final String EVALUATION_INCOMPLETE = "evaluation-incomplete";
    private static final Logger log = LoggerFactory.getLogger(CardFactory.class);
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}]+)}");
    private static final int MAX_SUMMARY = 139;
    static final String CONDITION_CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical";
    static final String TIMELINE_PATH = "/timeline/launch.html";
    static final String TIMELINE_LABEL = "Disease-course timeline";
    private static final ObjectMapper APP_CONTEXT_JSON = new ObjectMapper();

    private final CardSettings settings;
    private final Map<String, Set<String>> definitionsByService = new java.util.concurrent.ConcurrentHashMap<>();

    public CardFactory(CardSettings settings) {
        this.settings = settings;
    }

    /** Every CQL definition the service's cards read, so only those are evaluated (worked out once per service). */
    public Set<String> definitionsUsed(ServiceDefinition service) {
        return definitionsByService.computeIfAbsent(service.id(), id -> collectDefinitions(service));
    }

    private static Set<String> collectDefinitions(ServiceDefinition service) {
        Set<String> names = new LinkedHashSet<>();
        if (service.gate() != null) {
            names.add(service.gate());
        }
        for (CardDefinition card : service.cards()) {
            names.addAll(definitionsOf(card));
        }
        return java.util.Collections.unmodifiableSet(names);
    }

    public List<CdsServiceResponseCardJson> build(ServiceDefinition service, Map<String, Object> results, String patientId) {
        return build(service, results, Map.of(), patientId);
    }

    /**
     * The cards the evaluation decided. A card whose definitions could not be evaluated, or that cannot be
     * built, is left out, never the others: they are returned with an {@code evaluation-incomplete} card
     * (clinical-rules.md, "Safety"), and the cause is logged once.
     *
     * @param failures definitions that could not be evaluated, with their error
     */
    public List<CdsServiceResponseCardJson> build(ServiceDefinition service, Map<String, Object> results,
            Map<String, ? extends RuntimeException> failures, String patientId) {
        List<CdsServiceResponseCardJson> cards = new ArrayList<>();
        List<String> lost = new ArrayList<>();
        RuntimeException cause = failures.isEmpty() ? null : failures.values().iterator().next();
        if (service.gate() != null && failures.containsKey(service.gate())) {
            lost.add("all cards (whether the patient has ALL could not be evaluated)");
        } else if (service.gate() != null && !Boolean.TRUE.equals(results.get(service.gate()))) {
            return cards; // no ALL, no card
        } else {
            for (CardDefinition def : service.cards()) {
                if (failures.containsKey(def.fires())) {
                    lost.add(def.topic());
                    continue;
                }
                if (!Boolean.TRUE.equals(results.get(def.fires()))) {
                    continue;
                }
                if (definitionsOf(def).stream().anyMatch(failures::containsKey)) {
                    lost.add(def.topic()); // fired, but its content could not be evaluated: no half card
                    continue;
                }
                try {
                    cards.add(card(def, results, patientId));
                } catch (RuntimeException e) {
                    lost.add(def.topic());
                    cause = cause == null ? e : cause;
                }
            }
        }
        if (!lost.isEmpty()) {
            log.warn("service {}: evaluation incomplete, cards left out {}; definitions that failed {}", service.id(),
                    lost, failures.keySet(), cause);
            cards.add(evaluationIncomplete(lost));
        }
        return cards;
    }

    /** The service card telling the clinician that part of the evaluation failed; no evidence: no result is at fault. */
    private CdsServiceResponseCardJson evaluationIncomplete(List<String> lost) {
        CdsServiceResponseCardJson card = new CdsServiceResponseCardJson();
        card.setUuid(UUID.randomUUID().toString());
        card.setSummary("Part of the ALL evaluation failed: review the record directly");
        card.setIndicator(CdsServiceIndicatorEnum.WARNING);
        card.setSource(new CdsServiceResponseCardSourceJson()
                .setLabel(settings.sourceLabel())
                .setTopic(new CdsServiceResponseCodingJson()
                        .setSystem(TOPIC_SYSTEM).setCode(EVALUATION_INCOMPLETE).setDisplay("Evaluation incomplete")));
        card.setDetail("Part of the evaluation of this record failed, so some cards may be missing. The other cards"
                + " shown were evaluated in full; look at the record directly for what these would have covered: "
                + String.join(", ", lost) + ".\n");
        Map<String, Object> extension = new LinkedHashMap<>();
        extension.put("evidence", List.of());
        card.setExtension(new AllCdsCardExtension(extension));
        card.setOverrideReasons(overrideReasons());
        return card;
    }

    /** Every definition a card reads (its fires definition included). */
    private static Set<String> definitionsOf(CardDefinition card) {
        Set<String> names = new LinkedHashSet<>();
        addIfSet(names, card.fires());
        addIfSet(names, card.indicatorDefinition());
        addIfSet(names, card.findings());
        addIfSet(names, card.evidence());
        addIfSet(names, card.tests());
        addIfSet(names, card.treatmentOptions());
        names.addAll(card.extension().values());
        if (card.timeline() != null) {
            names.addAll(card.timeline().values());
        }
        addIfSet(names, card.remissionUpdates());
        // {Definition} placeholders of the summary and of the detail (thresholds as in force)
        Matcher m = PLACEHOLDER.matcher((card.summary() == null ? "" : card.summary()) + " "
                + (card.detail() == null ? "" : card.detail()));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    private CdsServiceResponseCardJson card(CardDefinition def, Map<String, Object> results, String patientId) {
        List<String> evidence = strings(results, def.evidence());
        if (evidence.isEmpty()) {
            throw new IncompleteCardException(def.topic() + " fired without evidence (" + def.evidence() + ")");
        }
        List<Map<String, Object>> options = tuples(results, def.treatmentOptions());
        if (def.treatmentOptions() != null) {
            if (options.isEmpty()) {
                throw new IncompleteCardException(def.topic() + " fired without treatment options");
            }
            for (Map<String, Object> o : options) {
                if (!settings.treatmentOptionCodes().contains(String.valueOf(o.get("code")))) {
                    throw new IncompleteCardException(def.topic() + " lists unknown option " + o.get("code"));
                }
            }
        }
        List<Map<String, Object>> tests = tuples(results, def.tests());

        CdsServiceResponseCardJson card = new CdsServiceResponseCardJson();
        card.setUuid(UUID.randomUUID().toString());
        card.setSummary(summary(def.summary(), results));
        card.setIndicator(indicator(def, results));
        card.setSource(new CdsServiceResponseCardSourceJson()
                .setLabel(settings.sourceLabel())
                .setTopic(new CdsServiceResponseCodingJson()
                        .setSystem(TOPIC_SYSTEM).setCode(def.topic()).setDisplay(def.topicDisplay())));
        card.setDetail(detail(def, results, strings(results, def.findings()), options, tests));
        for (Map<String, Object> test : tests) {
            card.addSuggestion(suggestion(test, patientId));
        }
        card.setOverrideReasons(overrideReasons());
        if (def.remissionUpdates() != null) {
            card.addSuggestion(remissionUpdate(def, results));
        }
        if (def.timeline() != null) {
            card.setLinks(List.of(timelineLink(def.timeline(), results)));
        }
        if (card.getSuggestions() != null && !card.getSuggestions().isEmpty()) {
            card.setSelectionBehaviour("any"); // CDS Hooks 2.0: required with suggestions; written "selectionBehavior"
        }

        Map<String, Object> extension = new LinkedHashMap<>();
        extension.put("evidence", evidence);
        if (def.treatmentOptions() != null) {
            extension.put("treatmentOptions", options.stream().map(o -> o.get("code")).toList());
        }
        def.extension().forEach((key, definition) -> extension.put(key, results.get(definition)));
        card.setExtension(new AllCdsCardExtension(extension));
        return card;
    }

    /** A fresh list per card: the card's JSON objects are not shared between cards. */
    private List<CdsServiceResponseCodingJson> overrideReasons() {
        List<CdsServiceResponseCodingJson> reasons = new ArrayList<>(settings.overrideReasons().size());
        for (CardSettings.OverrideReason reason : settings.overrideReasons()) {
            reasons.add(new CdsServiceResponseCodingJson().setSystem(OVERRIDE_REASON_SYSTEM).setCode(reason.code())
                    .setDisplay(reason.display()));
        }
        return reasons;
    }

    private static CdsServiceIndicatorEnum indicator(CardDefinition def, Map<String, Object> results) {
        Object computed = def.indicatorDefinition() == null ? null : results.get(def.indicatorDefinition());
        String value = computed != null ? computed.toString() : def.indicator();
        return CdsServiceIndicatorEnum.valueOf(value.toUpperCase(Locale.ROOT));
    }

    /** Its values escaped as in the detail: an EHR may render the summary as markup too. */
    static String summary(String template, Map<String, Object> results) {
        String s = filled(template, results);
        return s.length() <= MAX_SUMMARY ? s : s.substring(0, MAX_SUMMARY - 1) + "…";
    }

    /** The template with each {Definition} replaced by the definition's value, escaped ("unknown" when it has none). */
    static String filled(String template, Map<String, Object> results) {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            Object v = results.get(m.group(1));
            m.appendReplacement(out, Matcher.quoteReplacement(v == null ? "unknown" : text(v)));
        }
        m.appendTail(out);
        return out.toString();
    }

    /**
     * The finding first, in one line (value, date, threshold: the CQL's first finding), then the other findings,
     * the options or tests, the template's explanation and the sources. The references that made the card fire
     * are in the {@code all-cds} extension, not in the text: a clinician does not read resource ids.
     */
    private static String detail(CardDefinition def, Map<String, Object> results, List<String> findings, List<Map<String, Object>> options,
            List<Map<String, Object>> tests) {
        StringBuilder md = new StringBuilder();
        if (!findings.isEmpty()) {
            md.append("**").append(text(findings.get(0))).append("**\n\n");
            if (findings.size() > 1) {
                findings.subList(1, findings.size()).forEach(f -> md.append("- ").append(text(f)).append('\n'));
                md.append('\n');
            }
        }
        if (!options.isEmpty()) {
            md.append("**Options to review** (for discussion with the treating team; not orders)\n\n");
            md.append("| Option | Why it is listed for this patient |\n| --- | --- |\n");
            for (Map<String, Object> o : options) {
                md.append("| ").append(cell(o.get("display"))).append(" | ").append(cell(o.get("reason"))).append(" |\n");
            }
            md.append('\n');
        }
        if (!tests.isEmpty()) {
            md.append("**Tests proposed**\n\n");
            for (Map<String, Object> t : tests) {
                md.append("- ").append(text(testName(t))).append(" (").append(text(systemLabel(t.get("system"))))
                        .append(' ').append(text(t.get("code"))).append(")\n");
            }
            md.append('\n');
        }
        if (def.detail() != null) {
            md.append(filled(def.detail().strip(), results)).append('\n');
        }
        if (def.footer() != null) {
            md.append('\n').append(def.footer().strip()).append('\n');
        }
        return md.toString();
    }

    /** What a clinician calls the test (the CQL's {@code name}); the standard display when there is none. */
    private static String testName(Map<String, Object> test) {
        Object name = test.get("name");
        return String.valueOf(name != null ? name : test.get("display"));
    }

    private static CdsServiceResponseSuggestionJson suggestion(Map<String, Object> test, String patientId) {
        ServiceRequest request = new ServiceRequest();
        request.setStatus(ServiceRequest.ServiceRequestStatus.DRAFT);
        request.setIntent(ServiceRequest.ServiceRequestIntent.ORDER);
        request.getCode().addCoding()
                .setSystem(String.valueOf(test.get("system")))
                .setCode(String.valueOf(test.get("code")))
                .setDisplay(String.valueOf(test.get("display")));
        request.getCode().setText(testName(test));
        request.setSubject(new Reference("Patient/" + patientId));
        CdsServiceResponseSuggestionJson suggestion = new CdsServiceResponseSuggestionJson()
                .setLabel("Order " + testName(test))
                .setUuid(UUID.randomUUID().toString());
        suggestion.addAction(new CdsServiceResponseSuggestionActionJson()
                .setType("create")
                .setDescription("Create a draft order: " + testName(test))
                .setResource(request));
        return suggestion;
    }

    /**
     * The suggestion that records the remission: one {@code update} per ALL Condition of the record, each a copy of
     * the record's Condition (so nothing else of it changes) with its clinical status set to remission.
     */
    private static CdsServiceResponseSuggestionJson remissionUpdate(CardDefinition def, Map<String, Object> results) {
        Object value = results.get(def.remissionUpdates());
        if (!(value instanceof List<?> conditions) || conditions.isEmpty()) {
            throw new IncompleteCardException(def.topic() + " fired without a Condition to update (" + def.remissionUpdates() + ")");
        }
        CdsServiceResponseSuggestionJson suggestion = new CdsServiceResponseSuggestionJson()
                .setLabel("Record the ALL diagnosis as in remission")
                .setUuid(UUID.randomUUID().toString());
        for (Object item : conditions) {
            if (!(item instanceof Condition recorded)) {
                throw new IncompleteCardException(def.remissionUpdates() + " holds " + item + ", not a Condition");
            }
            Condition updated = recorded.copy();
            updated.setClinicalStatus(new CodeableConcept(
                    new Coding(CONDITION_CLINICAL_SYSTEM, "remission", "Remission")));
            suggestion.addAction(new CdsServiceResponseSuggestionActionJson()
                    .setType("update")
                    .setDescription("Set the clinical status of the ALL diagnosis to remission")
                    .setResource(updated));
        }
        return suggestion;
    }

    /**
     * The SMART link to the disease-course timeline; {@code appContext} carries the dates the card cites, as the
     * JSON object the app reads ({@code {"remission": "YYYY-MM-DD", "relapse": "YYYY-MM-DD"}}), known dates only.
     */
    private CdsServiceResponseLinkJson timelineLink(Map<String, String> dates, Map<String, Object> results) {
        Map<String, String> appContext = new LinkedHashMap<>();
        dates.forEach((key, definition) -> {
            Object date = results.get(definition);
            if (date != null) {
                appContext.put(key, date.toString());
            }
        });
        try {
            return new CdsServiceResponseLinkJson()
                    .setLabel(TIMELINE_LABEL)
                    .setUrl(settings.publicBaseUrl() + TIMELINE_PATH)
                    .setType("smart")
                    .setAppContext(APP_CONTEXT_JSON.writeValueAsString(appContext));
        } catch (JsonProcessingException e) {
            throw new IncompleteCardException("timeline appContext: " + e.getMessage()); // a map of strings: never
        }
    }

    private static String systemLabel(Object system) {
        return switch (String.valueOf(system)) {
            case "http://loinc.org" -> "LOINC";
            case "http://snomed.info/sct" -> "SNOMED CT";
            default -> String.valueOf(system);
        };
    }

    private static String cell(Object value) {
        return value == null ? "" : text(value); // text() escapes '|' with the rest of the punctuation
    }

    /**
     * A value the CQL worked out, as markdown that shows it as it is: it may carry request text (a unit, a code's
     * display, an id) that an EHR would otherwise render as headings, links or HTML. CommonMark's ASCII
     * punctuation is backslash-escaped, {@code < > &} become entity references (so no HTML tag can start), and
     * line breaks, tabs and other control characters become a space (no new block can start).
     */
    static String text(Object value) {
        String s = String.valueOf(value);
        StringBuilder out = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                default -> {
                    if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                        out.append(' ');
                    } else {
                        if (MARKDOWN_PUNCTUATION.indexOf(c) >= 0) {
                            out.append('\\');
                        }
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }

    /** CommonMark's ASCII punctuation, each of which a backslash makes literal. */
    private static final String MARKDOWN_PUNCTUATION = "!\"#$%'()*+,-./:;=?@[\\]^_`{|}~";

    private static List<String> strings(Map<String, Object> results, String definition) {
        if (definition == null || results.get(definition) == null) {
            return List.of();
        }
        if (!(results.get(definition) instanceof List<?> list)) {
            throw new IncompleteCardException(definition + " is not a list");
        }
        return list.stream().filter(v -> v != null).map(Object::toString).distinct().toList();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> tuples(Map<String, Object> results, String definition) {
        if (definition == null || results.get(definition) == null) {
            return List.of();
        }
        if (!(results.get(definition) instanceof List<?> list)) {
            throw new IncompleteCardException(definition + " is not a list");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object item : list) {
            if (!(item instanceof Map<?, ?> map)) {
                throw new IncompleteCardException(definition + " holds " + item + ", not a tuple");
            }
            out.add((Map<String, Object>) map);
        }
        return out;
    }

    private static void addIfSet(Set<String> names, String name) {
        if (name != null) {
            names.add(name);
        }
    }

    /** A card that would be incomplete: a defect in the logic or its configuration, never shown. */
    public static class IncompleteCardException extends RuntimeException {
        public IncompleteCardException(String message) {
            super(message);
        }
    }
}
