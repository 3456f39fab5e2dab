package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.allcds.cds.problems.RequestProblem;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * Checks a feedback body against CDS Hooks 2.0 ("Feedback") and the card contract, item by item: every flaw
 * is a 400 {@code invalid-feedback} naming the item and the member ({@code feedback[2].outcomeTimestamp}).
 * Items may carry an {@code extension} (the spec's way to add data); any other member the spec does not
 * define is refused, as is more than {@code all-cds.feedback.max-items} items in one call.
 */
@Component
public class FeedbackReader {

    /** The card contract's override reasons, offered on every card. */
    public static final String OVERRIDE_REASON_SYSTEM = "urn:all-cds:override-reason";
    public static final Set<String> OVERRIDE_REASONS = Set.of("already-addressed", "not-applicable", "disagree", "data-incorrect");

    private static final Set<String> ITEM_MEMBERS = Set.of("card", "outcome", "outcomeTimestamp", "acceptedSuggestions",
            "overrideReason", "extension");
    private static final Set<String> SUGGESTION_MEMBERS = Set.of("id");
    private static final Set<String> OVERRIDE_REASON_MEMBERS = Set.of("reason", "userComment");
    private static final Set<String> CODING_MEMBERS = Set.of("system", "code", "display");

    private final int maxItems;

    public FeedbackReader(@Value("${all-cds.feedback.max-items:100}") int maxItems) {
        this.maxItems = maxItems;
    }

    public FeedbackRequest read(JsonNode root) {
        if (!root.isObject()) {
            throw invalid("the body must be a JSON object {\"feedback\": [...]}");
        }
        JsonNode feedback = root.get("feedback");
        if (feedback == null || !feedback.isArray() || feedback.isEmpty()) {
            throw invalid("'feedback' must be a non-empty array");
        }
        if (feedback.size() > maxItems) {
            throw invalid("'feedback' holds " + feedback.size() + " items; at most " + maxItems
                    + " are accepted in one call (all-cds.feedback.max-items)");
        }
        List<FeedbackRequest.Item> items = new ArrayList<>(feedback.size());
        for (int i = 0; i < feedback.size(); i++) {
            items.add(item(feedback.get(i), "feedback[" + i + "]"));
        }
        return new FeedbackRequest(List.copyOf(items));
    }

    private static FeedbackRequest.Item item(JsonNode item, String at) {
        if (!item.isObject()) {
            throw invalid(at + " must be an object");
        }
        onlyMembers(item, ITEM_MEMBERS, at);
        String card = uuid(item.get("card"), at + ".card");
        FeedbackRequest.Outcome outcome = switch (text(item.get("outcome"), at + ".outcome")) {
            case "accepted" -> FeedbackRequest.Outcome.ACCEPTED;
            case "overridden" -> FeedbackRequest.Outcome.OVERRIDDEN;
            default -> throw invalid(at + ".outcome must be accepted or overridden");
        };
        Instant timestamp = instant(item.get("outcomeTimestamp"), at + ".outcomeTimestamp");
        JsonNode extension = item.get("extension");
        if (extension != null && !extension.isObject()) {
            throw invalid(at + ".extension must be an object");
        }
        JsonNode suggestions = item.get("acceptedSuggestions");
        JsonNode overrideReason = item.get("overrideReason");
        if (outcome == FeedbackRequest.Outcome.ACCEPTED) {
            if (overrideReason != null) {
                throw invalid(at + ".overrideReason is for overridden cards only");
            }
            return new FeedbackRequest.Item(card, outcome, timestamp, suggestions(suggestions, at + ".acceptedSuggestions"),
                    null, extension);
        }
        if (suggestions != null) {
            throw invalid(at + ".acceptedSuggestions is for accepted cards only");
        }
        return new FeedbackRequest.Item(card, outcome, timestamp, List.of(),
                overrideReason == null ? null : overrideReason(overrideReason, at + ".overrideReason"), extension);
    }

    /** CDS Hooks 2.0: an accepted card names the suggestions taken, as {@code [{"id": uuid}]}. */
    private static List<String> suggestions(JsonNode suggestions, String at) {
        if (suggestions == null || !suggestions.isArray() || suggestions.isEmpty()) {
            throw invalid(at + " must be a non-empty array of {\"id\": the suggestion's uuid} for an accepted card");
        }
        List<String> ids = new ArrayList<>(suggestions.size());
        for (int k = 0; k < suggestions.size(); k++) {
            JsonNode suggestion = suggestions.get(k);
            String here = at + "[" + k + "]";
            if (!suggestion.isObject()) {
                throw invalid(here + " must be an object {\"id\": the suggestion's uuid}");
            }
            onlyMembers(suggestion, SUGGESTION_MEMBERS, here);
            ids.add(uuid(suggestion.get("id"), here + ".id"));
        }
        return List.copyOf(ids);
    }

    private static FeedbackRequest.OverrideReason overrideReason(JsonNode node, String at) {
        if (!node.isObject()) {
            throw invalid(at + " must be an object {\"reason\": Coding, \"userComment\": text}");
        }
        onlyMembers(node, OVERRIDE_REASON_MEMBERS, at);
        FeedbackRequest.Coding reason = null;
        JsonNode coding = node.get("reason");
        if (coding != null) {
            String here = at + ".reason";
            if (!coding.isObject()) {
                throw invalid(here + " must be a Coding {\"system\", \"code\"}");
            }
            onlyMembers(coding, CODING_MEMBERS, here);
            if (!OVERRIDE_REASON_SYSTEM.equals(text(coding.get("system"), here + ".system"))) {
                throw invalid(here + ".system must be " + OVERRIDE_REASON_SYSTEM + ", the system of the card's override reasons");
            }
            String code = text(coding.get("code"), here + ".code");
            if (!OVERRIDE_REASONS.contains(code)) {
                throw invalid(here + ".code must be one of the card's override reasons: " + String.join(", ", OVERRIDE_REASONS.stream().sorted().toList()));
            }
            JsonNode display = coding.get("display");
            if (display != null && !display.isTextual()) {
                throw invalid(here + ".display must be a string");
            }
            reason = new FeedbackRequest.Coding(OVERRIDE_REASON_SYSTEM, code, display == null ? null : display.asText());
        }
        JsonNode comment = node.get("userComment");
        if (comment != null && !comment.isTextual()) {
            throw invalid(at + ".userComment must be a string");
        }
        return new FeedbackRequest.OverrideReason(reason, comment == null ? null : comment.asText());
    }

    private static void onlyMembers(JsonNode object, Set<String> allowed, String at) {
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) {
                // the name is the caller's: named in the answer only when short and printable
                throw invalid(printable(name) ? at + "." + name + " is not a member CDS Hooks feedback defines"
                        : at + " has a member CDS Hooks feedback does not define");
            }
        }
    }

    private static boolean printable(String name) {
        return name.length() <= 64 && name.chars().allMatch(c -> c >= 0x20 && c < 0x7f);
    }

    private static String text(JsonNode value, String at) {
        if (value == null || !value.isTextual()) {
            throw invalid(at + " is required, a string");
        }
        return value.asText();
    }

    private static String uuid(JsonNode value, String at) {
        String text = text(value, at);
        if (!Uuids.isUuid(text)) {
            throw invalid(at + " must be a uuid");
        }
        return text;
    }

    /** An ISO-8601 date and time with its zone offset ({@code 2025-06-01T10:15:30Z}, {@code ...+02:00}). */
    private static Instant instant(JsonNode value, String at) {
        String text = text(value, at);
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            throw invalid(at + " must be an ISO-8601 date and time with its zone, e.g. 2025-06-01T10:15:30Z");
        }
    }

    private static RequestProblem invalid(String message) {
        return RequestProblem.badRequest("invalid-feedback", message);
    }
}
