package org.allcds.cql;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.hl7.fhir.r4.model.Base;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Property;
import org.hl7.fhir.r4.model.Resource;

/**
 * One patient's data for one evaluation: the Patient and the resources the CQL may retrieve,
 * grouped by type once. Callers guarantee every resource belongs to this patient (the FHIR data
 * access layer drops anything else), so the retrieve provider need not filter by subject.
 */
public final class PatientRecord {

    private final Patient patient;
    private final Map<String, List<Resource>> byType;
    /** Coding keys ({@code system|code}) per resource, per code path, computed on first retrieve. */
    private final Map<String, Map<Resource, Set<String>>> codingKeysByPath = new ConcurrentHashMap<>();

    private PatientRecord(Patient patient, Map<String, List<Resource>> byType) {
        this.patient = patient;
        this.byType = byType;
    }

    public static PatientRecord of(Patient patient, Collection<? extends Resource> resources) {
        Objects.requireNonNull(patient, "patient");
        Map<String, List<Resource>> byType = new LinkedHashMap<>();
        for (Resource r : resources) {
            byType.computeIfAbsent(r.fhirType(), t -> new ArrayList<>()).add(r);
        }
        byType.replaceAll((t, l) -> Collections.unmodifiableList(l));
        return new PatientRecord(patient, byType);
    }

    public Patient patient() {
        return patient;
    }

    public String patientId() {
        return patient.getIdElement().getIdPart();
    }

    public List<Resource> ofType(String fhirType) {
        return byType.getOrDefault(fhirType, List.of());
    }

    public int size() {
        return 1 + byType.values().stream().mapToInt(List::size).sum();
    }

    Set<String> codingKeys(Resource resource, String codePath) {
        Map<Resource, Set<String>> index = codingKeysByPath.computeIfAbsent(
                resource.fhirType() + "." + codePath, k -> new ConcurrentHashMap<>());
        return index.computeIfAbsent(resource, r -> extractCodingKeys(r, codePath));
    }

    private static Set<String> extractCodingKeys(Resource resource, String codePath) {
        Property property = resource.getNamedProperty(codePath);
        if (property == null) {
            return Set.of();
        }
        java.util.HashSet<String> keys = new java.util.HashSet<>();
        for (Base value : property.getValues()) {
            if (value instanceof CodeableConcept cc) {
                for (Coding c : cc.getCoding()) {
                    keys.add(ValueSetRepository.key(c.getSystem(), c.getCode()));
                }
            } else if (value instanceof Coding c) {
                keys.add(ValueSetRepository.key(c.getSystem(), c.getCode()));
            }
        }
        return keys;
    }
}
