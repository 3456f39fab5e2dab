package org.allcds.cds.fhirdata;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.cds.services.PrefetchDefinition;
import org.allcds.cds.services.ServiceDefinition;
import org.allcds.cql.PatientRecord;
import org.allcds.cql.ValueSetRepository;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import jakarta.annotation.PreDestroy;
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
    private final ValueSetRepository valueSets;
    private final FhirServerFetcher fetcher;
    private final EntryParser entryParser;

    /**
     * @param parseHelpers threads that may help parse a long prefetch Bundle while the EHR waits
     *     ({@code all-cds.data.parse-helpers}; -1: one fewer than the cores; 0: none)
     * @param shareFrom the shortest Bundle worth sharing ({@code all-cds.data.parse-helpers-from}). At 128
     *     entries a Bundle is about a millisecond of parsing, against tens of microseconds for the hand-off;
     *     measured at 300 resources: whole call 5.98 -> 5.61 ms (p50, 3 JVMs), 243 -> 254 calls/s under load
     */
    @Autowired
    public PatientDataService(FhirContext fhirContext, ValueSetRepository valueSets, FhirServerFetcher fetcher,
            @Value("${all-cds.data.parse-helpers:-1}") int parseHelpers,
            @Value("${all-cds.data.parse-helpers-from:128}") int shareFrom) {
        this.fhirContext = fhirContext;
        this.valueSets = valueSets;
        this.fetcher = fetcher;
        this.entryParser = new EntryParser(fhirContext, org.allcds.cql.IdleHelpers.count(parseHelpers), shareFrom);
        log.info("prefetch Bundles of {}+ entries parsed with up to {} idle helper thread(s)",
                entryParser.minEntriesToShare(), entryParser.helperCount());
    }

    /** Without helper threads: every entry parsed by the calling thread. */
    public PatientDataService(FhirContext fhirContext, ValueSetRepository valueSets, FhirServerFetcher fetcher) {
        this(fhirContext, valueSets, fetcher, 0, Integer.MAX_VALUE);
    }

    @PreDestroy
    void stopHelpers() {
        entryParser.close();
    }

    /**
     * @param prefetch the request's prefetch object by key (a key may be absent or JSON null)
     * @param access where to fetch missing keys; null when the request named no fhirServer
     * @param contextResources resources carried in the hook context (order-select's draftOrders)
     */
    public PatientRecord load(ServiceDefinition service, String patientId, Map<String, JsonNode> prefetch,
            FhirServerAccess access, List<Resource> contextResources) {
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
        Map<String, Checked> byReference = new LinkedHashMap<>();
        int dropped = 0;
        for (Map.Entry<String, PrefetchDefinition> key : service.prefetch().entrySet()) {
            PrefetchDefinition def = key.getValue();
            JsonNode value = prefetch.get(key.getKey());
            boolean fromPrefetch = value != null && !value.isNull();
            String query = def.query().replace("{{context.patientId}}", patientId);
            List<Checked> resources;
            if (def.isRead()) {
                resources = List.of(Checked.of(fromPrefetch
                        ? readSingle(key.getKey(), value, def.resourceType())
                        : fetcher.read(access, query), key.getKey(), patientId));
            } else if (fromPrefetch) {
                resources = readBundle(key.getKey(), value, def.resourceType(), patientId);
            } else {
                resources = fetcher.search(access, query).stream().map(r -> Checked.of(r, key.getKey(), patientId)).toList();
            }
            for (Checked checked : resources) {
                Resource r = checked.resource();
                checked.requireId();
                if (!r.fhirType().equals(def.resourceType())) {
                    if ("OperationOutcome".equals(r.fhirType())) {
                        continue; // search warnings ride along in searchset Bundles
                    }
                    throw RequestProblem.badRequest("prefetch-wrong-type", "prefetch '" + key.getKey() + "' holds a "
                            + r.fhirType() + "; expected " + def.resourceType());
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
                if (!checked.belongs()) {
                    dropped++;
                    continue;
                }
                addUnique(byReference, checked);
            }
        }
        for (Resource r : contextResources) {
            if (belongsTo(r, patientId)) {
                addUnique(byReference, new Checked(r, null, referenceOf(r), true, codeKeysOf(r)));
            } else {
                dropped++;
            }
        }
        if (patient == null) {
            throw new RequestProblem(HttpStatus.PRECONDITION_FAILED, "prefetch-missing", "no Patient resource for " + patientId);
        }
        if (dropped > 0) {
            log.warn("dropped {} resource(s) that do not belong to the hook's patient", dropped);
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
        for (Checked checked : readBundle(name, bundle, entryType, null)) {
            checked.requireId();
            resources.add(checked.resource());
        }
        return resources;
    }

    /**
     * A resource read for the record and what the checks after reading need: its id made plain (or why it
     * cannot be), its reference, whether it belongs to the patient. Worked out where the resource was read
     * (for a long Bundle, by the helpers that parsed it); the problem is only thrown in entry order, after
     * every entry of the Bundle parsed, as when the checks ran one by one after the parse.
     */
    private record Checked(Resource resource, RequestProblem idProblem, String reference, boolean belongs,
            String[] codeKeys) {

        /** @param patientId null: belonging is not asked (the caller decides it otherwise) */
        static Checked of(Resource r, String key, String patientId) {
            try {
                normalizeId(r, key);
            } catch (RequestProblem noId) {
                return new Checked(r, noId, null, false, null);
            }
            return new Checked(r, null, referenceOf(r), patientId != null && belongsTo(r, patientId), codeKeysOf(r));
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
        return new ResourceReader(fhirContext).read(resourceClass(type), json, () -> "prefetch '" + key + "'");
    }

    private List<Checked> readBundle(String key, JsonNode json, String entryType, String patientId) {
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
        // are screened and parsed in parallel for a long Bundle (EntryParser), with the same answer.
        List<JsonNode> all = new ArrayList<>(entries.size());
        entries.forEach(all::add);
        return entryParser.parseAll(resourceClass(entryType), all,
                (at, entry) -> resourceToRead(key, at, entry, entryType), r -> Checked.of(r, key, patientId),
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
        if ("Observation".equals(resourceType) && !hasKnownCode(resource)) {
            return null; // a lab no rule reads (e.g. a sodium): not worth parsing
        }
        return resource;
    }

    private static String entryWhere(String key, int index) {
        return "prefetch '" + key + "' entry " + index;
    }

    private boolean hasKnownCode(JsonNode observation) {
        for (JsonNode coding : observation.path("code").path("coding")) {
            if (valueSets.isKnownCode(coding.path("system").asText(null), coding.path("code").asText(null))) {
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

    /** Ids as the EHR knows them: HAPI may have put a fullUrl or a versioned URL there. */
    private static void normalizeId(Resource r, String key) {
        if (!r.hasIdElement() || r.getIdElement().getIdPart() == null) {
            throw RequestProblem.badRequest("invalid-resource", "a " + r.fhirType() + " in prefetch '" + key
                    + "' has no id; card evidence must be able to name it");
        }
        r.setId(r.getIdElement().getIdPart());
    }

    /** The resource's keys at the code path retrieves index ({@link PatientRecord#codeKeys}); null when unreadable. */
    private static String[] codeKeysOf(Resource r) {
        try {
            return PatientRecord.codeKeys(r, PatientRecord.CODE);
        } catch (RuntimeException unreadable) {
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

    /** True when the resource's subject (or patient) is this patient, however the reference is written. */
    static boolean belongsTo(Resource r, String patientId) {
        Reference subject = switch (r.fhirType()) {
            case "Observation" -> ((org.hl7.fhir.r4.model.Observation) r).getSubject();
            case "Condition" -> ((org.hl7.fhir.r4.model.Condition) r).getSubject();
            case "Procedure" -> ((org.hl7.fhir.r4.model.Procedure) r).getSubject();
            case "ServiceRequest" -> ((org.hl7.fhir.r4.model.ServiceRequest) r).getSubject();
            default -> null;
        };
        if (subject == null || !subject.hasReference()) {
            return false;
        }
        var id = subject.getReferenceElement();
        return "Patient".equals(id.getResourceType()) && Objects.equals(patientId, id.getIdPart());
    }
}
