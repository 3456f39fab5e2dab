package org.allcds.cds.ledger;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.allcds.cds.problems.RequestProblem;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /analytics/cards?from=&to=}: per service and topic, the cards issued in [from, to) and what clinicians
 * did with them (accepted, overridden, override reasons with counts, acceptance rate per suggestion). For the
 * governance committee that tunes or retires alerts. Guarded by {@link AnalyticsAuthFilter}; the pages under
 * {@code /analytics} read this JSON.
 */
@RestController
public class AnalyticsController {

    private static final Duration DEFAULT_WINDOW = Duration.ofDays(30);

    private final CardLedger ledger;
    private final java.time.Clock clock;

    public AnalyticsController(CardLedger ledger, java.time.Clock clock) {
        this.ledger = ledger;
        this.clock = clock;
    }

    @GetMapping(path = "/analytics/cards", produces = MediaType.APPLICATION_JSON_VALUE)
    public Map<String, Object> cards(@RequestParam(name = "from", required = false) String from,
            @RequestParam(name = "to", required = false) String to) {
        LedgerStore store = ledger.store();
        if (store == null) {
            throw new RequestProblem(HttpStatus.NOT_FOUND, "ledger-off", "the card ledger is off (all-cds.ledger.enabled=false)");
        }
        Instant end = to == null ? clock.instant() : instant(to, "to");
        Instant start = from == null ? end.minus(DEFAULT_WINDOW) : instant(from, "from");
        if (!start.isBefore(end)) {
            throw RequestProblem.badRequest("invalid-range", "'from' must be before 'to'");
        }
        try {
            return report(store, start, end);
        } catch (DataAccessException e) {
            throw new RequestProblem(HttpStatus.SERVICE_UNAVAILABLE, "ledger-unavailable", "the card ledger cannot be read now");
        }
    }

    private static Map<String, Object> report(LedgerStore store, Instant from, Instant to) {
        Map<String, Map<String, Map<String, Object>>> byService = new LinkedHashMap<>();
        for (LedgerStore.TopicCounts c : store.topicCounts(from, to)) {
            Map<String, Object> topic = new LinkedHashMap<>();
            topic.put("topic", c.topic());
            topic.put("issued", c.issued());
            topic.put("accepted", c.accepted());
            topic.put("overridden", c.overridden());
            topic.put("acceptanceRate", rate(c.accepted(), c.issued()));
            topic.put("overrideRate", rate(c.overridden(), c.issued()));
            topic.put("overrideReasons", new LinkedHashMap<String, Long>());
            topic.put("suggestions", new ArrayList<Map<String, Object>>());
            byService.computeIfAbsent(c.service(), s -> new LinkedHashMap<>()).put(c.topic(), topic);
        }
        for (LedgerStore.ReasonCount r : store.reasonCounts(from, to)) {
            Map<String, Object> topic = byService.getOrDefault(r.service(), Map.of()).get(r.topic());
            if (topic != null) {
                @SuppressWarnings("unchecked")
                Map<String, Long> reasons = (Map<String, Long>) topic.get("overrideReasons");
                reasons.put(r.reason(), r.cards());
            }
        }
        for (LedgerStore.SuggestionCount s : store.suggestionCounts(from, to)) {
            Map<String, Object> topic = byService.getOrDefault(s.service(), Map.of()).get(s.topic());
            if (topic != null) {
                Map<String, Object> suggestion = new LinkedHashMap<>();
                suggestion.put("label", s.label());
                suggestion.put("offered", s.offered());
                suggestion.put("accepted", s.accepted());
                suggestion.put("acceptanceRate", rate(s.accepted(), s.offered()));
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> list = (List<Map<String, Object>>) topic.get("suggestions");
                list.add(suggestion);
            }
        }
        List<Map<String, Object>> services = new ArrayList<>();
        byService.forEach((service, topics) -> {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("service", service);
            one.put("topics", new ArrayList<>(topics.values()));
            services.add(one);
        });
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("from", from.toString());
        body.put("to", to.toString());
        body.put("services", services);
        return body;
    }

    private static double rate(long part, long whole) {
        return whole == 0 ? 0 : Math.round(1000.0 * part / whole) / 1000.0;
    }

    /** An instant with its zone ({@code 2026-01-01T00:00:00Z}) or a date (its start, UTC). */
    private static Instant instant(String text, String name) {
        try {
            return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant()
                    : OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            throw RequestProblem.badRequest("invalid-range", "'" + name
                    + "' must be a date (2026-01-31) or a date and time with its zone (2026-01-31T10:00:00Z)");
        }
    }
}
