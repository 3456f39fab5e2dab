package org.allcds.cds.fhirdata;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.cds.services.PrefetchDefinition;
import org.allcds.cds.services.ServiceDefinition;
import org.allcds.cql.PatientRecord;
import org.allcds.cql.ValueSetRepository;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.allcds.cds.evaluation.CqlEvaluationService;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Service;

/**
 * The one place patient data is gathered: each prefetch key from the request when the EHR sent
 * it, else from {@code fhirServer}; 412 when neither. Both paths go through the same checks
 * (resource types, ids, the patient they belong to, duplicates), so they decide alike.
 *
 * <p>Entries that belong to another patient are dropped and logged, not refused: a shared FHIR
 * search can legitimately over-return, and nothing of theirs may reach this patient's cards.
 */
@Service
public class PatientDataService {

    private static final Logger log = LoggerFactory.getLogger(PatientDataService.class);

    private final FhirContext fhirContext;
    /** Keys {@code system|code} of the Observation codes the CQL retrieves: any other Observation is left out unread. */
    private final Set<String> observationCodesRead;
    private final FhirServerFetcher fetcher;
    private final EntryParser entryParser;
    /** Whether the usual shapes are read without HAPI's parser ({@link ResourceReader}); else nothing is read ahead. */
    private final boolean directRead;

    /**
     * @param directRead read the usual shapes with {@link DirectResourceReader} ({@code all-cds.data.direct-read};
     *     false: HAPI's parser reads everything, as the reference tests hold it)
     */
    @Autowired
    public PatientDataService(FhirContext fhirContext, CqlEvaluationService evaluation, FhirServerFetcher fetcher,
            @Value("${all-cds.data.direct-read:true}") boolean directRead) {
        this(fhirContext, evaluation.observationCodesRead(), fetcher, directRead);
    }

    /** @param observationCodesRead keys {@code system|code} of the Observation codes the CQL retrieves */
    public PatientDataService(FhirContext fhirContext, Set<String> observationCodesRead, FhirServerFetcher fetcher,
            boolean directRead) {
        this.fhirContext = fhirContext;
        this.observationCodesRead = Set.copyOf(observationCodesRead);
        this.fetcher = fetcher;
        this.directRead = directRead && ResourceReader.readsDirectly(fhirContext);
        this.entryParser = new EntryParser(fhirContext, this.directRead);
    }

    /**
     * @param prefetch the request's prefetch object by key (a key may be absent or JSON null)
     * @param access where to fetch missing keys; null when the request named no fhirServer
     * @param contextResources resources carried in the hook context (order-select's draftOrders)
     */
    public PatientRecord load(ServiceDefinition service, String patientId, Map<String, JsonNode> prefetch,
            FhirServerAccess access, List<Resource> contextResources) {
        return load(service, patientId, prefetch, access, contextResources, Map.of());
    }

    /**
     * @param readAhead for the entry array of a Bundle in {@code prefetch} (by identity), what {@link #readAhead}
     *     answered for each of its entries where they were parsed; an array not there is read here
     */
    public PatientRecord load(ServiceDefinition service, String patientId, Map<String, JsonNode> prefetch,
            FhirServerAccess access, List<Resource> contextResources, Map<JsonNode, Object[]> readAhead) {
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, PrefetchDefinition> key : service.prefetch().entrySet()) {
            JsonNode value = prefetch.get(key.getKey());
            if ((value == null || value.isNull()) && access == null) {
                missing.add(key.getKey());
            }
        }
        if (!missing.isEmpty()) {
            throw new RequestProblem(HttpStatus.PRECONDITION_FAILED, "prefetch-missing",
                    "prefetch " + missing + " missing and no fhirServer to fetch it from");
        }

        Patient patient = null;
        // one budget of bytes, resources and time for every key fetched (started at the first one)
        FhirServerFetcher.Call fetching = null;
        Map<String, Checked> byReference = new LinkedHashMap<>();
        PatientReference own = PatientReference.of(patientId, access == null ? null : access.baseUrl());
        Map<NotOwn, Integer> dropped = new java.util.EnumMap<>(NotOwn.class);
        for (Map.Entry<String, PrefetchDefinition> key : service.prefetch().entrySet()) {
            PrefetchDefinition def = key.getValue();
            JsonNode value = prefetch.get(key.getKey());
            boolean fromPrefetch = value != null && !value.isNull();
            String query = def.query().replace("{{context.patientId}}", patientId);
            List<Checked> resources;
            if (!fromPrefetch && fetching == null) {
                fetching = fetcher.call(access);
            }
            if (def.isRead()) {
                resources = List.of(fromPrefetch
                        ? Checked.of(readSingle(key.getKey(), value, def.resourceType()), key.getKey())
                        : Checked.fetched(fetching.read(query), key.getKey(), "prefetch '" + key.getKey() + "'"));
            } else if (fromPrefetch) {
                resources = readBundle(key.getKey(), value, def.resourceType(), readAhead);
            } else {
                List<Resource> fetched = fetching.search(query);
                resources = new ArrayList<>(fetched.size());
                for (int i = 0; i < fetched.size(); i++) {
                    resources.add(Checked.fetched(fetched.get(i), key.getKey(), entryWhere(key.getKey(), i)));
                }
            }
            for (Checked checked : resources) {
                Resource r = checked.resource();
                checked.requireId();
                if (!checked.type().equals(def.resourceType())) {
                    if ("OperationOutcome".equals(checked.type())) {
                        continue; // search warnings ride along in searchset Bundles
                    }
                    throw RequestProblem.badRequest("prefetch-wrong-type", "prefetch '" + key.getKey() + "' holds a "
                            + checked.type() + "; expected " + def.resourceType());
                }
                if (r instanceof Patient p) {
                    if (!patientId.equals(p.getIdElement().getIdPart())) {
                        throw RequestProblem.badRequest("prefetch-wrong-patient", "prefetch '" + key.getKey()
                                + "' is Patient/" + p.getIdElement().getIdPart() + " but context.patientId is " + patientId);
                    }
                    requireDayPrecisionBirthDate(p);
                    patient = p;
                    continue;
                }
                NotOwn notOwn = own.whyNot(checked.subject());
                if (notOwn != null) {
                    dropped.merge(notOwn, 1, Integer::sum);
                    continue;
                }
                addUnique(byReference, checked);
            }
        }
        for (Resource r : contextResources) {
            Checked checked = Checked.asIs(r);
            NotOwn notOwn = own.whyNot(checked.subject());
            if (notOwn == null) {
                addUnique(byReference, checked);
            } else {
                dropped.merge(notOwn, 1, Integer::sum);
            }
        }
        if (patient == null) {
            throw new RequestProblem(HttpStatus.PRECONDITION_FAILED, "prefetch-missing", "no Patient resource for " + patientId);
        }
        if (!dropped.isEmpty()) { // counts and reasons only: nothing of the resources themselves
            log.warn("dropped {} resource(s) whose subject is not the hook's patient: {}",
                    dropped.values().stream().mapToInt(Integer::intValue).sum(), dropped);
        }
        List<Resource> resources = new ArrayList<>(byReference.size());
        List<String[]> codeKeys = new ArrayList<>(byReference.size());
        for (Checked checked : byReference.values()) {
            resources.add(checked.resource());
            codeKeys.add(checked.codeKeys());
        }
        // The retrieves' index by code is made of keys worked out where each resource was read; one that
        // could not be read there (null) leaves the whole index to the first retrieve, which meets the error.
        return PatientRecord.of(patient, resources, codeKeys.contains(null) ? null : codeKeys);
    }

    /** Reads a Bundle carried in the hook context (order-select's draftOrders) with the same checks as a prefetch. */
    public List<Resource> readContextBundle(String name, JsonNode bundle, String entryType) {
        List<Resource> resources = new ArrayList<>();
        for (Checked checked : readBundle(name, bundle, entryType, Map.of())) {
            checked.requireId();
            resources.add(checked.resource());
        }
        return resources;
    }

    /**
     * A resource read for the record and what the checks after reading need: its type, its id made plain (or
     * why it cannot be), its reference, its subject reference as written ({@link PatientReference} decides). Worked out where the resource was read
     * (for a long Bundle, by the threads that parsed it), so the checks need not go back to the resource, long
     * out of cache by then; the problem is only thrown in entry order, after every entry of the Bundle parsed,
     * as when the checks ran one by one after the parse.
     */
    record Checked(Resource resource, String type, RequestProblem idProblem, String reference, String subject,
            String[] codeKeys) {

        static Checked of(Resource r, String key) {
            Checked checked = ofPlainId(r);
            return checked != null ? checked : new Checked(r, r.fhirType(), noId(r, key), null, null, null);
        }

        /**
         * A resource fetched from fhirServer. HAPI's client has already made its id plain (what the server wrote
         * is gone), so the plain id is what is checked; {@code where} names it in the error.
         */
        static Checked fetched(Resource r, String key, String where) {
            Checked checked = of(r, key);
            if (checked.idProblem() == null && !FhirIds.isId(r.getIdElement().getIdPart())) {
                return new Checked(r, checked.type(), RequestProblem.badRequest("invalid-resource", where
                        + " from fhirServer has an id that is not a FHIR id"), null, null, null);
            }
            return checked;
        }

        /** Null when the resource has no id: the problem names the prefetch key, which only the caller knows. */
        static Checked ofPlainId(Resource r) {
            if (!r.hasIdElement() || r.getIdElement().getIdPart() == null) {
                return null;
            }
            r.setId(r.getIdElement().getIdPart()); // as the EHR knows it: HAPI may have put a fullUrl or a versioned URL there
            return asIs(r);
        }

        /** The resource with its id as it is (a context resource's is taken as given). */
        static Checked asIs(Resource r) {
            String reference = referenceOf(r);
            reference.hashCode(); // kept by the string: the duplicate check hashes it later, when it is no longer in cache
            return new Checked(r, r.fhirType(), null, reference, subjectReference(r), codeKeysOf(r));
        }

        void requireId() {
            if (idProblem != null) {
                throw idProblem;
            }
        }
    }

    /** An Observation no rule reads, as {@link #readAhead} found it: left out of a Bundle of Observations. */
    private static final Object NO_KNOWN_CODE = new Object();

    /**
     * What the tree of a Bundle entry tells without reading it, where the request is parsed: an Observation no
     * rule reads ({@code NO_KNOWN_CODE}), or nothing (null). Asked for an entry whose tokens
     * {@link #readAhead(JsonParser)} gave up on: one not of the usual shape, which the data step reads with
     * HAPI's parser (reading it here again would only give up again).
     */
    public Object readAhead(JsonNode entry) {
        JsonNode resource = entry.path("resource");
        if (!(resource instanceof ObjectNode object) || !directRead) {
            return null;
        }
        return isUnreadLab(object) ? NO_KNOWN_CODE : null;
    }

    /** A Bundle entry's members (FHIR R4 Bundle.entry), by bit: one met twice is read from the tree, which refuses it. */
    private static final List<String> ENTRY_MEMBERS = List.of(
            "id", "extension", "modifierExtension", "link", "fullUrl", "resource", "search", "request", "response");
    private static final int RESOURCE = ENTRY_MEMBERS.indexOf("resource");

    /**
     * Steps over the value at the parser's current token; false when an object in it has a member twice (read
     * from the tree then, which refuses it). The tokens themselves are checked by the parser as it goes.
     */
    private static boolean skipUnique(JsonParser json) throws IOException {
        if (json.currentToken() == JsonToken.START_OBJECT) {
            List<String> names = new ArrayList<>(2);
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                if (names.contains(json.currentName())) {
                    return false;
                }
                names.add(json.currentName());
                json.nextToken();
                if (!skipUnique(json)) {
                    return false;
                }
            }
        } else if (json.currentToken() == JsonToken.START_ARRAY) {
            while (json.nextToken() != JsonToken.END_ARRAY) {
                if (!skipUnique(json)) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * One Bundle entry read into the model from its tokens where the request is parsed (the parser's current
     * token is its first), with no tree built for its resource, and what the checks need worked out (the
     * request's tree is long gone from the cache by the time the data is gathered). Only what does not depend
     * on the prefetch key it came under: an entry this answers null for, or whose type is not the key's, is
     * read in {@link #load} as any other, which decides and words every problem. Null also where the entry is
     * not of the usual shape; then its tree is built and {@link #readAhead(JsonNode)} asked. The entry's other
     * members are stepped over, so that a flaw in them fails as it would in the tree (the parser checks the
     * tokens; a member given twice in them is read from the tree, which refuses it). What stands in the
     * request's tree for an entry answered here is {@link #entryInTree}.
     *
     * @return the entry's resource as read, {@code NO_KNOWN_CODE}, or null
     * @throws IOException the JSON is malformed
     */
    public Object readAhead(JsonParser entry) throws IOException {
        if (!directRead || entry.currentToken() != JsonToken.START_OBJECT) {
            return null;
        }
        Object answer = null;
        int seen = 0;
        while (entry.nextToken() == JsonToken.FIELD_NAME) {
            int member = ENTRY_MEMBERS.indexOf(entry.currentName());
            if (member < 0 || (seen & 1 << member) != 0) {
                return null;
            }
            seen |= 1 << member;
            entry.nextToken();
            if (member != RESOURCE) {
                if (!skipUnique(entry)) {
                    return null;
                }
                continue;
            }
            Resource r = DirectResourceReader.read(entry);
            if (r == null) {
                return null;
            }
            answer = r instanceof Observation o && !hasKnownCode(o) ? NO_KNOWN_CODE : Checked.ofPlainId(r);
            if (answer == null) {
                return null;
            }
        }
        return answer;
    }

    /**
     * What stands in the request's tree for an entry answered from its tokens: the entry with its resource's
     * type only. The data step takes the answer and does not look at it; where it does not take the answer (a
     * prefetch key of another type, a Bundle read without the answers) the type is all its screen reads.
     */
    public JsonNode entryInTree(Object answer) {
        String type = answer instanceof Checked checked ? checked.type() : "Observation";
        return ENTRY_STUBS.get(type);
    }

    /** Shared by every entry they stand for: nothing changes a request's tree once read. */
    private static final Map<String, JsonNode> ENTRY_STUBS = DirectResourceReader.typeNames().stream()
            .collect(java.util.stream.Collectors.toUnmodifiableMap(type -> type, type -> {
                ObjectNode stub = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
                stub.putObject("resource").put("resourceType", type);
                return stub;
            }));

    private Resource readSingle(String key, JsonNode json, String expectedType) {
        String type = json.path("resourceType").asText("");
        if (!expectedType.equals(type)) {
            throw RequestProblem.badRequest("prefetch-wrong-type", "prefetch '" + key + "' must be a " + expectedType
                    + " resource, got " + (type.isEmpty() ? "no resourceType" : type));
        }
        return new ResourceReader(fhirContext, directRead).read(resourceClass(type), json, () -> "prefetch '" + key + "'");
    }

    private List<Checked> readBundle(String key, JsonNode json, String entryType, Map<JsonNode, Object[]> readAhead) {
        String type = json.path("resourceType").asText("");
        if (!"Bundle".equals(type)) {
            throw RequestProblem.badRequest("prefetch-wrong-type", "prefetch '" + key + "' must be a Bundle, got "
                    + (type.isEmpty() ? "no resourceType" : type));
        }
        JsonNode entries = json.path("entry");
        if (!entries.isMissingNode() && !entries.isArray()) {
            throw RequestProblem.badRequest("invalid-resource", "prefetch '" + key + "'.entry is not an array");
        }
        // The first entry that is not a resource of the expected type, or fails to parse, is the error; entries
        // are screened and parsed in parallel for a long Bundle (EntryParser), with the same answer. An entry
        // read ahead where the request was parsed is taken as read when it is of the key's type.
        List<JsonNode> all = new AbstractList<>() { // a view: entries read ahead are not visited again
            @Override
            public JsonNode get(int index) {
                return entries.get(index);
            }

            @Override
            public int size() {
                return entries.size();
            }
        };
        Object[] ahead = readAhead.get(entries);
        IntFunction<Object> known = ahead == null || ahead.length != all.size() ? i -> null : i -> {
            Object read = ahead[i];
            if (read instanceof Checked checked) {
                return checked.type().equals(entryType) ? checked : null;
            }
            return read == NO_KNOWN_CODE && "Observation".equals(entryType) ? EntryParser.LEFT_OUT : null;
        };
        return entryParser.parseAll(resourceClass(entryType), all, known,
                (at, entry) -> resourceToRead(key, at, entry, entryType), r -> Checked.of(r, key),
                i -> entryWhere(key, i));
    }

    /** An entry's resource if it is one to read; null for one left out (a search's warnings, a lab no rule reads). */
    private JsonNode resourceToRead(String key, int at, JsonNode entry, String entryType) {
        JsonNode resource = entry.path("resource");
        if (!resource.isObject()) {
            throw RequestProblem.badRequest("invalid-resource", entryWhere(key, at) + " has no resource");
        }
        String resourceType = resource.path("resourceType").asText("");
        if ("OperationOutcome".equals(resourceType)) {
            return null;
        }
        if (!entryType.equals(resourceType)) {
            throw RequestProblem.badRequest("prefetch-wrong-type", entryWhere(key, at) + " is a "
                    + (resourceType.isEmpty() ? "resource without resourceType" : resourceType)
                    + "; expected " + entryType);
        }
        if (isUnreadLab(resource)) {
            return null; // a lab no rule reads (e.g. a sodium): not worth parsing
        }
        return resource;
    }

    private static String entryWhere(String key, int index) {
        return "prefetch '" + key + "' entry " + index;
    }

    private boolean hasKnownCode(Observation observation) {
        // through getProperty, which neither adds the empty elements HAPI's getters would nor walks isEmpty()
        for (org.hl7.fhir.r4.model.Base code : observation.getProperty(CODE_HASH, "code", false)) {
            for (org.hl7.fhir.r4.model.Base coding : code.getProperty(CODING_HASH, "coding", false)) {
                org.hl7.fhir.r4.model.Coding c = (org.hl7.fhir.r4.model.Coding) coding;
                if (observationCodesRead.contains(ValueSetRepository.key(c.getSystem(), c.getCode()))) {
                    return true;
                }
            }
        }
        return false;
    }

    private static final int CODE_HASH = "code".hashCode();
    private static final int CODING_HASH = "coding".hashCode();

    /** An Observation whose codes no rule reads (e.g. a sodium): not worth parsing. */
    private boolean isUnreadLab(JsonNode resource) {
        return "Observation".equals(resource.path("resourceType").textValue()) && !hasKnownCode(resource);
    }

    private boolean hasKnownCode(JsonNode observation) {
        for (JsonNode coding : observation.path("code").path("coding")) {
            if (observationCodesRead.contains(ValueSetRepository.key(coding.path("system").asText(null),
                    coding.path("code").asText(null)))) {
                return true;
            }
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private Class<? extends Resource> resourceClass(String type) {
        return (Class<? extends Resource>) fhirContext.getResourceDefinition(type).getImplementingClass();
    }

    /** FHIR {@code date} has no time part; HAPI's lenient parser lets "2000-01-01T10:00:00Z" through. */
    private static void requireDayPrecisionBirthDate(Patient p) {
        if (p.hasBirthDateElement() && p.getBirthDateElement().getPrecision() != null
                && p.getBirthDateElement().getPrecision().ordinal() > ca.uhn.fhir.model.api.TemporalPrecisionEnum.DAY.ordinal()) {
            throw RequestProblem.badRequest("invalid-resource", "Patient.birthDate is a FHIR date: it has no time part");
        }
    }

    private static RequestProblem noId(Resource r, String key) {
        return RequestProblem.badRequest("invalid-resource", "a " + r.fhirType() + " in prefetch '" + key
                + "' has no id; card evidence must be able to name it");
    }

    /** The resource's keys at the code path retrieves index ({@link PatientRecord#codeKeys}); null when unreadable. */
    private static String[] codeKeysOf(Resource r) {
        try {
            return PatientRecord.codeKeys(r, PatientRecord.CODE);
        } catch (RuntimeException unreadable) {
            org.allcds.cql.FastPathFallbacks.record("code-keys", unreadable); // the first retrieve indexes instead
            return null;
        }
    }

    private static String referenceOf(Resource r) {
        return r.fhirType() + "/" + r.getIdElement().getIdPart();
    }

    private static void addUnique(Map<String, Checked> byReference, Checked checked) {
        String reference = checked.reference();
        Resource r = checked.resource();
        Checked earlier = byReference.putIfAbsent(reference, checked);
        if (earlier != null && !earlier.resource().equalsDeep(r)) {
            throw RequestProblem.badRequest("duplicate-resource", reference
                    + " appears twice with different content; which one is true cannot be decided");
        }
    }

    /** Why a resource's subject is not the hook's patient (logged as counts by reason). */
    enum NotOwn { NO_SUBJECT, ANOTHER_PATIENT, URN_UUID_NOT_RESOLVED, NOT_PATIENT_ID_ON_THIS_FHIR_SERVER }

    /**
     * The references that name the hook's patient: exactly {@code Patient/{id}}, or {@code {fhirServer}/Patient/{id}}
     * on the request's own fhirServer base (one trailing slash aside). Nothing else: another server's Patient of
     * the same id is another patient, and {@code ../Patient/{id}}, {@code _history}, a query are not this form.
     * A {@code urn:uuid:} subject would have to resolve to a Bundle entry that is this Patient; the Patient is
     * read on its own (prefetch {@code patient}), so none does.
     */
    record PatientReference(String relative, String absolute) {
        static PatientReference of(String patientId, String fhirServerBase) {
            return new PatientReference("Patient/" + patientId, fhirServerBase == null ? null
                    : (fhirServerBase.endsWith("/") ? fhirServerBase.substring(0, fhirServerBase.length() - 1) : fhirServerBase)
                            + "/Patient/" + patientId);
        }

        /** Null when {@code reference} names the hook's patient. */
        NotOwn whyNot(String reference) {
            if (reference == null) {
                return NotOwn.NO_SUBJECT;
            }
            if (reference.equals(relative) || reference.equals(absolute)) {
                return null;
            }
            if (reference.startsWith("urn:uuid:")) {
                return NotOwn.URN_UUID_NOT_RESOLVED;
            }
            if (reference.startsWith("Patient/") && FhirIds.isId(reference.substring("Patient/".length()))) {
                return NotOwn.ANOTHER_PATIENT;
            }
            return NotOwn.NOT_PATIENT_ID_ON_THIS_FHIR_SERVER;
        }
    }

    /** The resource's subject reference as written; null when none. */
    private static String subjectReference(Resource r) {
        Reference subject = switch (r.fhirType()) {
            case "Observation" -> ((org.hl7.fhir.r4.model.Observation) r).getSubject();
            case "Condition" -> ((org.hl7.fhir.r4.model.Condition) r).getSubject();
            case "Procedure" -> ((org.hl7.fhir.r4.model.Procedure) r).getSubject();
            case "ServiceRequest" -> ((org.hl7.fhir.r4.model.ServiceRequest) r).getSubject();
            default -> null;
        };
        return subject == null || !subject.hasReference() ? null : subject.getReference();
    }
}
