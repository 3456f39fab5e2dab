package org.allcds.cql;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
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
    /** Per type, per code path: coding key ({@code system|code}) -> positions in {@link #ofType}, built on first retrieve. */
    private final Map<String, Map<String, Map<String, BitSet>>> codeIndex = new ConcurrentHashMap<>();

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

    /**
     * The resources of a type having any of the coding keys at the code path, in record order. One
     * index per (type, path) per record, so a retrieve costs what it returns, not the record's size.
     */
    List<Resource> withAnyCode(String fhirType, String codePath, Set<String> keys) {
        List<Resource> all = ofType(fhirType);
        if (all.isEmpty() || keys.isEmpty()) {
            return List.of();
        }
        Map<String, BitSet> index = codeIndex.computeIfAbsent(fhirType, t -> new ConcurrentHashMap<>())
                .computeIfAbsent(codePath, p -> buildIndex(all, p));
        BitSet hits = new BitSet(all.size());
        for (String key : keys) {
            BitSet positions = index.get(key);
            if (positions != null) {
                hits.or(positions);
            }
        }
        List<Resource> matches = new ArrayList<>(hits.cardinality());
        for (int i = hits.nextSetBit(0); i >= 0; i = hits.nextSetBit(i + 1)) {
            matches.add(all.get(i));
        }
        return matches;
    }

    /** Coding key -> positions (in {@code resources}) of the resources carrying it at the code path. */
    private static Map<String, BitSet> buildIndex(List<Resource> resources, String codePath) {
        Map<String, BitSet> index = new HashMap<>();
        for (int i = 0; i < resources.size(); i++) {
            Property property = resources.get(i).getNamedProperty(codePath);
            if (property == null) {
                continue;
            }
            for (Base value : property.getValues()) {
                if (value instanceof CodeableConcept cc) {
                    for (Coding c : cc.getCoding()) {
                        mark(index, c, i);
                    }
                } else if (value instanceof Coding c) {
                    mark(index, c, i);
                }
            }
        }
        return index;
    }

    /** A key seen twice in one resource marks the same position twice: no set per resource needed. */
    private static void mark(Map<String, BitSet> index, Coding c, int position) {
        index.computeIfAbsent(ValueSetRepository.key(c.getSystem(), c.getCode()), k -> new BitSet()).set(position);
    }
}
