package org.allcds.cds.hooks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.allcds.cds.fhirdata.FhirIds;
import org.allcds.cds.fhirdata.FhirServerAccess;
import org.allcds.cds.fhirdata.PatientDataService;
import org.allcds.cds.problems.RequestProblem;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/** Reads a hook call's JSON body and checks its shape against CDS Hooks 2.0; every flaw is a 400 with its path. */
@Component
public class HookRequestParser {

    // {"hook":"a","hook":"b"} is ambiguous: refused. Found while the tree is built (each member is looked up
    // there anyway), not by the parser, whose duplicate detector allocates a hash set per object of 3+ members.
    static final ObjectMapper JSON = JsonMapper.builder()
            .nodeFactory(CompactNodeFactory.INSTANCE)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .build();
    /**
     * A whole body: bytes after the document ("{...} garbage", a second document) are refused. Not the mapper's
     * own setting, which would also refuse the rest of a document after a value read from the middle of it.
     * Every way a body is read ends in a parse of its end by this reader (SplitTreeReader's skeleton, or whole).
     */
    static final ObjectReader DOCUMENT = JSON.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final SplitTreeReader splitReader;

    /** Reads nothing ahead. */
    public HookRequestParser() {
        this(Integer.MAX_VALUE, (SplitTreeReader.EntryReader) null);
    }

    /**
     * @param data reads each prefetch Bundle entry into the FHIR model where it is parsed, from its tokens
     *     ({@link PatientDataService#readAhead}); the request carries what it read
     */
    @Autowired
    public HookRequestParser(PatientDataService data) {
        this(Integer.MAX_VALUE, data);
    }

    /** @param splitFrom bodies of this many bytes or more are read in parts (tests; the service reads in one pass) */
    public HookRequestParser(int splitFrom, PatientDataService data) {
        this(splitFrom, entryReader(data));
    }

    HookRequestParser(int splitFrom, SplitTreeReader.EntryReader entryReader) {
        this.splitReader = new SplitTreeReader(JSON, splitFrom, entryReader);
    }

    /** The data layer's reading of a Bundle entry, where the request is parsed. */
    static SplitTreeReader.EntryReader entryReader(PatientDataService data) {
        return new SplitTreeReader.EntryReader() {
            @Override
            public Object read(JsonNode element) {
                return data.readAhead(element);
            }

            @Override
            public Object read(com.fasterxml.jackson.core.JsonParser element) throws java.io.IOException {
                return data.readAhead(element);
            }

            @Override
            public JsonNode inTree(Object answer) {
                return data.entryInTree(answer);
            }
        };
    }

    /** Jackson's words for a duplicate member found while building the tree (they name its setting). */
    private static final Pattern DUPLICATE_MEMBER = Pattern.compile("Duplicate field '(.*)' for `ObjectNode`");

    /**
     * The body's tree as one parse builds it. (A hook call's tree, from {@link #parse}, has the entries read from
     * their tokens standing in it as the data layer says.)
     */
    public JsonNode readTree(byte[] body) {
        return read(body, false).root();
    }

    /** The body read as a hook call's is (in parts when long, entries read ahead); its tree as {@link SplitTreeReader} left it. */
    SplitTreeReader.Split readParts(byte[] body) {
        return read(body, true);
    }

    private SplitTreeReader.Split read(byte[] body, boolean split) {
        if (body.length == 0) {
            throw RequestProblem.badRequest("malformed-json", "request body is empty");
        }
        if (split) { // in parts (tests) or in one pass; null: read it whole (also to report any error)
            SplitTreeReader.Split parts = splitReader.read(body);
            if (parts == null) {
                parts = splitReader.readInOnePass(body);
            }
            if (parts != null) {
                return parts;
            }
        }
        try {
            JsonNode root = DOCUMENT.readTree(body);
            if (root == null || root.isMissingNode()) {
                throw RequestProblem.badRequest("malformed-json", "request body is empty");
            }
            return new SplitTreeReader.Split(root, Map.of());
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
        SplitTreeReader.Split read = readParts(body);
        JsonNode root = read.root();
        if (!root.isObject()) {
            throw RequestProblem.badRequest("invalid-request", "request body must be a JSON object");
        }
        String hook = requiredText(root, "hook");
        String hookInstance = requiredText(root, "hookInstance");
        if (!Uuids.isUuid(hookInstance)) {
            throw RequestProblem.badRequest("invalid-request", "'hookInstance' must be a UUID");
        }
        JsonNode context = root.get("context");
        if (context == null || !context.isObject()) {
            throw RequestProblem.badRequest("invalid-request", "'context' must be an object");
        }
        String patientId = requiredText(context, "patientId", "context.patientId");
        if (!FhirIds.isId(patientId)) { // before anything is fetched with it: "Patient/.." is another URL
            throw RequestProblem.badRequest("invalid-request", "context.patientId is not a FHIR id");
        }

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

        FhirServerAccess access = null;
        JsonNode fhirServer = root.get("fhirServer");
        if (fhirServer != null && !fhirServer.isNull()) {
            if (!fhirServer.isTextual() || fhirServer.asText().isBlank()) {
                throw RequestProblem.badRequest("invalid-request", "'fhirServer' must be a URL string");
            }
            String token = null;
            JsonNode auth = root.get("fhirAuthorization");
            if (auth != null && !auth.isNull()) {
                if (!auth.isObject()) {
                    throw RequestProblem.badRequest("invalid-request", "'fhirAuthorization' must be an object");
                }
                token = requiredText(auth, "access_token", "fhirAuthorization.access_token");
                // CDS Hooks 2.0: token_type (always Bearer) and subject are required; patient, when given, is this call's
                if (!"Bearer".equalsIgnoreCase(requiredText(auth, "token_type", "fhirAuthorization.token_type"))) {
                    throw RequestProblem.badRequest("invalid-request", "'fhirAuthorization.token_type' must be Bearer");
                }
                requiredText(auth, "subject", "fhirAuthorization.subject");
                JsonNode patient = auth.get("patient");
                if (patient != null && !patient.isNull() && !patientId.equals(patient.isTextual() ? patient.asText() : null)) {
                    throw RequestProblem.badRequest("invalid-request",
                            "'fhirAuthorization.patient' must be context.patientId, the patient of this call");
                }
            }
            access = new FhirServerAccess(fhirServer.asText(), token);
        }
        return new HookRequest(hook, hookInstance, patientId, context, prefetch, access, read.readAhead());
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
