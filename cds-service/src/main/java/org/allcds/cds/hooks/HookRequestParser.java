package org.allcds.cds.hooks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.allcds.cds.fhirdata.FhirIds;
import org.allcds.cds.problems.RequestProblem;
import org.springframework.stereotype.Component;

/** Reads a hook call's JSON body and checks its shape against CDS Hooks 2.0; every flaw is a 400 with its path. */
@Component
public class HookRequestParser {

    // {"hook":"a","hook":"b"} is ambiguous: refused. Numbers are kept as the decimals written (250000000000.0 is
    // not the double 2.5E11, which the unit library cannot read): BigDecimal for fractions, trailing zeros kept,
    // as HAPI's parser reads them on the fhirServer path. Bytes after the document ("{...} garbage") are refused.
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .build();

    /** Jackson's words for a duplicate member found while building the tree (they name its setting). */
    private static final Pattern DUPLICATE_MEMBER = Pattern.compile("Duplicate field '(.*)' for `ObjectNode`");

    /** The body's JSON tree; a 400 naming the flaw when it is not one JSON document. */
    public JsonNode readTree(byte[] body) {
        if (body.length == 0) {
            throw RequestProblem.badRequest("malformed-json", "request body is empty");
        }
        try {
            JsonNode root = JSON.readTree(body);
            if (root == null || root.isMissingNode()) {
                throw RequestProblem.badRequest("malformed-json", "request body is empty");
            }
            return root;
        } catch (JsonProcessingException e) {
            String message = e.getOriginalMessage();
            Matcher duplicate = DUPLICATE_MEMBER.matcher(message == null ? "" : message);
            String at = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            if (duplicate.lookingAt()) {
                message = "Duplicate field '" + duplicate.group(1) + "'" + at;
            } else if (message != null && message.startsWith("Trailing token")) { // Jackson's words name its setting
                message = "content after the end of the JSON document" + at;
            }
            throw RequestProblem.badRequest("malformed-json", "request body is not valid JSON: " + message);
        } catch (java.io.IOException e) {
            throw RequestProblem.badRequest("malformed-json", "request body could not be read");
        }
    }

    public HookRequest parse(byte[] body) {
        JsonNode root = readTree(body);
        if (!root.isObject()) {
            throw RequestProblem.badRequest("invalid-request", "request body must be a JSON object");
        }
        String hook = requiredText(root, "hook");
        String hookInstance = requiredText(root, "hookInstance");
        if (!Uuids.isUuid(hookInstance)) {
            throw RequestProblem.badRequest("invalid-request", "'hookInstance' must be a UUID");
        }
        JsonNode contextNode = root.get("context");
        if (contextNode == null || !contextNode.isObject()) {
            throw RequestProblem.badRequest("invalid-request", "'context' must be an object");
        }
        HookRequest.Context context = context(contextNode);

        Map<String, JsonNode> prefetch = new LinkedHashMap<>();
        JsonNode prefetchNode = root.get("prefetch");
        if (prefetchNode != null && !prefetchNode.isNull()) {
            if (!prefetchNode.isObject()) {
                throw RequestProblem.badRequest("invalid-request", "'prefetch' must be an object");
            }
            prefetchNode.fields().forEachRemaining(e -> {
                if (!e.getValue().isObject() && !e.getValue().isNull()) {
                    throw RequestProblem.badRequest("invalid-request", "prefetch '" + e.getKey() + "' must be a FHIR resource or null");
                }
                prefetch.put(e.getKey(), e.getValue());
            });
        }

        String fhirServer = null;
        HookRequest.FhirAuthorization authorization = null;
        JsonNode fhirServerNode = root.get("fhirServer");
        if (fhirServerNode != null && !fhirServerNode.isNull()) {
            if (!fhirServerNode.isTextual() || fhirServerNode.asText().isBlank()) {
                throw RequestProblem.badRequest("invalid-request", "'fhirServer' must be a URL string");
            }
            fhirServer = fhirServerNode.asText();
            JsonNode auth = root.get("fhirAuthorization");
            if (auth != null && !auth.isNull()) {
                authorization = fhirAuthorization(auth, context.patientId());
            }
        }
        return new HookRequest(hook, UUID.fromString(hookInstance), fhirServer, authorization, context, prefetch);
    }

    /** The context members this service's hooks define; others are left alone (a hook may carry more). */
    private static HookRequest.Context context(JsonNode context) {
        String patientId = requiredText(context, "patientId", "context.patientId");
        if (!FhirIds.isId(patientId)) { // before anything is fetched with it: "Patient/.." is another URL
            throw RequestProblem.badRequest("invalid-request", "context.patientId is not a FHIR id");
        }
        List<String> selections = null;
        JsonNode selectionsNode = context.get("selections");
        if (selectionsNode != null && !selectionsNode.isNull()) {
            selections = new ArrayList<>();
            if (!selectionsNode.isArray()) {
                throw RequestProblem.badRequest("invalid-request", "'context.selections' must be an array of strings");
            }
            for (JsonNode selection : selectionsNode) {
                if (!selection.isTextual()) {
                    throw RequestProblem.badRequest("invalid-request", "'context.selections' must be an array of strings");
                }
                selections.add(selection.textValue());
            }
        }
        JsonNode draftOrders = context.get("draftOrders");
        if (draftOrders != null && !draftOrders.isNull() && !draftOrders.isObject()) {
            throw RequestProblem.badRequest("invalid-request", "'context.draftOrders' must be a FHIR Bundle");
        }
        return new HookRequest.Context(patientId, optionalText(context, "userId", "context.userId"),
                optionalText(context, "encounterId", "context.encounterId"), selections == null ? null : List.copyOf(selections),
                draftOrders == null || draftOrders.isNull() ? null : draftOrders);
    }

    /** CDS Hooks 2.0: token_type (always Bearer) and subject are required; patient, when given, is this call's. */
    private static HookRequest.FhirAuthorization fhirAuthorization(JsonNode auth, String patientId) {
        if (!auth.isObject()) {
            throw RequestProblem.badRequest("invalid-request", "'fhirAuthorization' must be an object");
        }
        String token = requiredText(auth, "access_token", "fhirAuthorization.access_token");
        String tokenType = requiredText(auth, "token_type", "fhirAuthorization.token_type");
        if (!"Bearer".equalsIgnoreCase(tokenType)) {
            throw RequestProblem.badRequest("invalid-request", "'fhirAuthorization.token_type' must be Bearer");
        }
        String subject = requiredText(auth, "subject", "fhirAuthorization.subject");
        JsonNode patient = auth.get("patient");
        if (patient != null && !patient.isNull() && !patientId.equals(patient.isTextual() ? patient.asText() : null)) {
            throw RequestProblem.badRequest("invalid-request",
                    "'fhirAuthorization.patient' must be context.patientId, the patient of this call");
        }
        JsonNode expiresIn = auth.get("expires_in");
        return new HookRequest.FhirAuthorization(token, tokenType,
                expiresIn != null && expiresIn.canConvertToLong() ? expiresIn.longValue() : null,
                auth.path("scope").textValue(), subject, patient == null ? null : patient.textValue());
    }

    /** A string member that may be absent or null; any other JSON type is a 400 naming it. */
    private static String optionalText(JsonNode node, String field, String path) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw RequestProblem.badRequest("invalid-request", "'" + path + "' must be a string");
        }
        return value.textValue();
    }

    private static String requiredText(JsonNode node, String field) {
        return requiredText(node, field, field);
    }

    private static String requiredText(JsonNode node, String field, String path) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            throw RequestProblem.badRequest("invalid-request", "'" + path + "' is required");
        }
        if (!value.isTextual() || value.asText().isBlank()) {
            throw RequestProblem.badRequest("invalid-request", "'" + path + "' must be a non-empty string");
        }
        return value.asText();
    }
}
