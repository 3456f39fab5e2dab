package org.allcds.cds.fhirdata;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.cql.PatientRecord;
import org.allcds.cql.ValueSetRepository;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;

/**
 * The one place patient data is gathered: each prefetch key from the request when the EHR sent
 * it, else from {@code fhirServer}; 412 when neither. Both paths go through the same checks
 * (resource types, ids, the patient they belong to, duplicates), so they decide alike.
 *
 * <p>Entries that belong to another patient are dropped and logged, not refused: a shared FHIR
 * search can legitimately over-return, and nothing of theirs may reach this patient's cards.
 *
 * <p>Built in {@code config.CoreBeans}, which hands it what the CQL reads as plain data.
 */
public class PatientDataService {

    private static final Logger log = LoggerFactory.getLogger(PatientDataService.class);

    private final FhirContext fhirContext;
    /** Keys {@code system|code} of the Observation codes the CQL retrieves: any other Observation is left out unread. */
    private final Set<String> observationCodesRead;
    private final FhirServerFetcher fetcher;
    /** Whether the usual shapes are read with {@link DirectResourceReader}; else HAPI's parser reads everything. */
    private final boolean directRead;

    /**
     * @param observationCodesRead keys {@code system|code} of the Observation codes the CQL retrieves
     * @param directRead read the usual shapes with {@link DirectResourceReader} ({@code all-cds.data.direct-read};
     *     false: HAPI's parser reads everything, as the reference tests hold it)
     */
    public PatientDataService(FhirContext fhirContext, Set<String> observationCodesRead, FhirServerFetcher fetcher,
            boolean directRead) {
        this.fhirContext = fhirContext;
        this.observationCodesRead = Set.copyOf(observationCodesRead);
        this.fetcher = fetcher;
        this.directRead = directRead && ResourceReader.readsDirectly(fhirContext);
    }

    /**
     * @param keys the prefetch keys the service declares, in the order they are read
     * @param prefetch the request's prefetch values by key, as JSON (a key may be absent or JSON null)
     * @param access where to fetch missing keys; null when the request named no fhirServer
     * @param contextResources resources carried in the hook context (order-select's draftOrders)
     */
    public PatientRecord load(List<PrefetchKey> keys, String patientId, Map<String, JsonNode> prefetch,
            FhirServerAccess access, List<Resource> contextResources) {
        // What each key's value means (CDS Hooks 2.0): data, no data, or to be fetched (whole or its other pages)
        Map<String, PrefetchValue> meaning = new LinkedHashMap<>();
        List<String> toFetch = new ArrayList<>();
        for (PrefetchKey key : keys) {
            PrefetchValue value = PrefetchValue.of(prefetch.get(key.name()), key);
            meaning.put(key.name(), value);
            if (value.needsFhirServer()) {
                toFetch.add(key.name() + " (" + value.why() + ")");
            }
        }
        if (!toFetch.isEmpty() && access == null) {
            throw new RequestProblem(HttpStatus.PRECONDITION_FAILED, "prefetch-missing",
                    "prefetch " + toFetch + " to be fetched and no fhirServer to fetch it from");
        }

        Patient patient = null;
        // one budget of bytes, resources and time for every key fetched (started at the first one)
        FhirServerFetcher.Call fetching = null;
        Map<String, Checked> byReference = new LinkedHashMap<>();
        PatientReference own = PatientReference.of(patientId, access == null ? null : access.baseUrl());
        Map<NotOwn, Integer> dropped = new java.util.EnumMap<>(NotOwn.class);
        for (PrefetchKey def : keys) {
            String name = def.name();
            PrefetchValue value = meaning.get(name);
            String query = def.query().replace("{{context.patientId}}", patientId);
            List<Checked> resources;
            if (value.needsFhirServer() && fetching == null) {
                fetching = fetcher.call(access);
            }
            String nextPage = value.nextPage();
            if (nextPage != null && !FhirServerFetcher.sameServer(access.baseUrl(), nextPage)) {
                // paged by another server than fhirServer: the token goes nowhere else, so the search is run whole
                value = PrefetchValue.FAILED_PAGED_ELSEWHERE;
                nextPage = null;
            }
            if (value.kind() == PrefetchValue.Kind.NO_DATA) {
                resources = List.of();
            } else if (def.isRead()) {
                resources = List.of(value.kind() == PrefetchValue.Kind.DATA
                        ? Checked.of(readSingle(name, value.json(), def.resourceType()), name)
                        : Checked.fetched(fetching.read(query), name, "prefetch '" + name + "'"));
            } else if (value.kind() == PrefetchValue.Kind.DATA || value.kind() == PrefetchValue.Kind.PAGED) {
                resources = readBundle(name, value.json(), def.resourceType());
                if (nextPage != null) { // never cards from the first page alone
                    resources = new ArrayList<>(resources);
                    List<Resource> rest = fetching.pagesFrom(nextPage);
                    for (int i = 0; i < rest.size(); i++) {
                        resources.add(Checked.fetched(rest.get(i), name, "prefetch '" + name
                                + "' next pages entry " + i));
                    }
                }
            } else {
                List<Resource> fetched = fetching.search(query);
                resources = new ArrayList<>(fetched.size());
                for (int i = 0; i < fetched.size(); i++) {
                    resources.add(Checked.fetched(fetched.get(i), name, entryWhere(name, i)));
                }
            }
            for (Checked checked : resources) {
                Resource r = checked.resource();
                checked.requireId();
                if (!checked.type().equals(def.resourceType())) {
                    if ("OperationOutcome".equals(checked.type())) {
                        continue; // search warnings ride along in searchset Bundles
                    }
                    throw RequestProblem.badRequest("prefetch-wrong-type", "prefetch '" + name + "' holds a "
                            + checked.type() + "; expected " + def.resourceType());
                }
                if (r instanceof Patient p) {
                    if (!patientId.equals(p.getIdElement().getIdPart())) {
                        throw RequestProblem.badRequest("prefetch-wrong-patient", "prefetch '" + name
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
        for (Checked checked : byReference.values()) {
            resources.add(checked.resource());
        }
        return PatientRecord.of(patient, resources);
    }

    /**
     * What one prefetch value means (CDS Hooks 2.0, "Prefetch"; card-contract.md): the EHR's data, no data
     * ({@code null}), or a failed prefetch to fetch from fhirServer (absent, an OperationOutcome or a Bundle of
     * only OperationOutcomes, a {@code null} patient); or data whose other pages are to be fetched (a searchset
     * Bundle with a {@code next} link).
     *
     * @param json the value as sent (for DATA and PAGED)
     * @param nextPage the {@code next} link of a PAGED Bundle
     */
    record PrefetchValue(Kind kind, JsonNode json, String nextPage, String why) {
        enum Kind { DATA, NO_DATA, FAILED, PAGED }

        static final PrefetchValue FAILED_PAGED_ELSEWHERE = new PrefetchValue(Kind.FAILED, null, null, "paged elsewhere");

        static PrefetchValue of(JsonNode value, PrefetchKey def) {
            if (value == null) {
                return new PrefetchValue(Kind.FAILED, null, null, "absent");
            }
            if (value.isNull()) { // no data; a single resource the hook names (the patient) cannot be "none"
                return def.isRead() ? new PrefetchValue(Kind.FAILED, null, null, "null")
                        : new PrefetchValue(Kind.NO_DATA, null, null, "null");
            }
            if (isFailure(value)) {
                return new PrefetchValue(Kind.FAILED, null, null, "OperationOutcome");
            }
            String next = def.isRead() ? null : nextLink(value);
            return next != null ? new PrefetchValue(Kind.PAGED, value, next, "paged: next link")
                    : new PrefetchValue(Kind.DATA, value, null, null);
        }

        boolean needsFhirServer() {
            return kind == Kind.FAILED || kind == Kind.PAGED;
        }

        /** An OperationOutcome, or a Bundle whose entries (one or more) are all OperationOutcomes. */
        private static boolean isFailure(JsonNode value) {
            String type = value.path("resourceType").textValue();
            if ("OperationOutcome".equals(type)) {
                return true;
            }
            JsonNode entries = value.path("entry");
            if (!"Bundle".equals(type) || !entries.isArray() || entries.isEmpty()) {
                return false;
            }
            for (JsonNode entry : entries) {
                if (!"OperationOutcome".equals(entry.path("resource").path("resourceType").textValue())) {
                    return false;
                }
            }
            return true;
        }

        /** A Bundle's {@code next} link; null when there is none. */
        private static String nextLink(JsonNode value) {
            if (!"Bundle".equals(value.path("resourceType").textValue())) {
                return null;
            }
            for (JsonNode link : value.path("link")) {
                if ("next".equals(link.path("relation").textValue())) {
                    String url = link.path("url").textValue();
                    if (url == null || url.isBlank()) {
                        throw RequestProblem.badRequest("invalid-resource", "a prefetch Bundle's next link has no url");
                    }
                    return url;
                }
            }
            return null;
        }
    }

    /** Reads a Bundle carried in the hook context (order-select's draftOrders) with the same checks as a prefetch. */
    public List<Resource> readContextBundle(String name, JsonNode bundle, String entryType) {
        List<Resource> resources = new ArrayList<>();
        for (Checked checked : readBundle(name, bundle, entryType)) {
            checked.requireId();
            resources.add(checked.resource());
        }
        return resources;
    }

    /**
     * A resource read for the record and what the checks after reading need: its type, its id made plain (or
     * why it cannot be), its reference, its subject reference as written ({@link PatientReference} decides). The
     * id problem is only thrown after every entry of the Bundle was read: a parse error anywhere in it wins.
     */
    record Checked(Resource resource, String type, RequestProblem idProblem, String reference, String subject) {

        /** The resource with its id made plain; without an id, the problem names the prefetch key. */
        static Checked of(Resource r, String key) {
            if (!r.hasIdElement() || r.getIdElement().getIdPart() == null) {
                return new Checked(r, r.fhirType(), noId(r, key), null, null);
            }
            r.setId(r.getIdElement().getIdPart()); // as the EHR knows it: HAPI may have put a fullUrl or a versioned URL there
            return asIs(r);
        }

        /**
         * A resource fetched from fhirServer. HAPI's client has already made its id plain (what the server wrote
         * is gone), so the plain id is what is checked; {@code where} names it in the error.
         */
        static Checked fetched(Resource r, String key, String where) {
            Checked checked = of(r, key);
            if (checked.idProblem() == null && !FhirIds.isId(r.getIdElement().getIdPart())) {
                return new Checked(r, checked.type(), RequestProblem.badRequest("invalid-resource", where
                        + " from fhirServer has an id that is not a FHIR id"), null, null);
            }
            return checked;
        }

        /** The resource with its id as it is (a context resource's is taken as given). */
        static Checked asIs(Resource r) {
            return new Checked(r, r.fhirType(), null, referenceOf(r), subjectReference(r));
        }

        void requireId() {
            if (idProblem != null) {
                throw idProblem;
            }
        }
    }

    private Resource readSingle(String key, JsonNode json, String expectedType) {
        String type = json.path("resourceType").asText("");
        if (!expectedType.equals(type)) {
            throw RequestProblem.badRequest("prefetch-wrong-type", "prefetch '" + key + "' must be a " + expectedType
                    + " resource, got " + (type.isEmpty() ? "no resourceType" : type));
        }
        return new ResourceReader(fhirContext, directRead).read(resourceClass(type), json, () -> "prefetch '" + key + "'");
    }

    private List<Checked> readBundle(String key, JsonNode json, String entryType) {
        String type = json.path("resourceType").asText("");
        if (!"Bundle".equals(type)) {
            throw RequestProblem.badRequest("prefetch-wrong-type", "prefetch '" + key + "' must be a Bundle, got "
                    + (type.isEmpty() ? "no resourceType" : type));
        }
        JsonNode entries = json.path("entry");
        if (!entries.isMissingNode() && !entries.isArray()) {
            throw RequestProblem.badRequest("invalid-resource", "prefetch '" + key + "'.entry is not an array");
        }
        // Entry by entry: the first one that is not a resource of the expected type, or fails to parse, is the
        // error; a missing id is only reported after the whole Bundle read (Checked).
        ResourceReader reader = new ResourceReader(fhirContext, directRead);
        Class<? extends Resource> resourceClass = resourceClass(entryType);
        List<Checked> read = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            JsonNode resource = resourceToRead(key, i, entries.get(i), entryType);
            if (resource != null) {
                int at = i;
                read.add(Checked.of(reader.read(resourceClass, resource, () -> entryWhere(key, at)), key));
            }
        }
        return read;
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
