package org.allcds.cds.reference;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.allcds.cql.CqlValues;
import org.allcds.cql.ValueSetRepository;
import org.apache.commons.lang3.tuple.Pair;
import org.cqframework.cql.cql2elm.LibraryManager;
import org.cqframework.cql.cql2elm.ModelManager;
import org.cqframework.cql.cql2elm.model.CompiledLibrary;
import org.cqframework.cql.elm.serializing.jackson.ElmJsonLibraryReader;
import org.hl7.elm.r1.ExpressionDef;
import org.hl7.elm.r1.Library;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.opencds.cqf.cql.engine.data.CompositeDataProvider;
import org.opencds.cqf.cql.engine.data.DataProvider;
import org.opencds.cqf.cql.engine.execution.CqlEngine;
import org.opencds.cqf.cql.engine.execution.Environment;
import org.opencds.cqf.cql.engine.execution.EvaluationResult;
import org.opencds.cqf.cql.engine.fhir.model.R4FhirModelResolver;
import org.opencds.cqf.cql.engine.model.ModelResolver;
import org.opencds.cqf.cql.engine.retrieve.RetrieveProvider;
import org.opencds.cqf.cql.engine.runtime.Code;
import org.opencds.cqf.cql.engine.runtime.Interval;
import org.opencds.cqf.cql.engine.terminology.CodeSystemInfo;
import org.opencds.cqf.cql.engine.terminology.TerminologyProvider;
import org.opencds.cqf.cql.engine.terminology.ValueSetInfo;

/**
 * The CQL evaluated with stock parts only, from the raw request bytes: HAPI's own JSON parser on the text of
 * each prefetch value, a plain in-memory record, the engine's interpreter ({@link CqlEngine}, expression caching
 * on) with the engine's R4 model resolver and its default UCUM service. Nothing of the service's data layer or of
 * the cql module's evaluator is used: only the ELM the build wrote, the value set files, and {@link CqlValues}
 * to turn the answers into the plain values the cards are built from.
 */
final class StockReference {

    private static final String FHIR_MODEL_URI = "http://hl7.org/fhir";
    /** Builds a FhirContext: once for the test run. */
    private static final ModelResolver MODEL = new R4FhirModelResolver();
    private static final JsonFactory TOKENS = new JsonFactory();

    private final FhirContext fhir = FhirContext.forR4Cached();
    private final LibraryManager libraries;
    private final Map<String, Library> byName = new LinkedHashMap<>();
    private final ValueSetRepository valueSets;
    private final TerminologyProvider terminology;

    StockReference(ValueSetRepository valueSets) {
        this.valueSets = valueSets;
        this.terminology = new PlainTerminology(valueSets);
        this.libraries = new LibraryManager(new ModelManager()); // its UCUM service is the engine's default
        libraries.getLibrarySourceLoader().clearProviders();
        for (String file : resource("elm/index.txt").lines().map(String::strip).filter(s -> s.endsWith(".json")).toList()) {
            try (InputStream in = StockReference.class.getClassLoader().getResourceAsStream("elm/" + file)) {
                Library library = new ElmJsonLibraryReader().read(in);
                // the engine looks definitions up by binary search on the name
                library.getStatements().getDef().sort(Comparator.comparing(ExpressionDef::getName));
                CompiledLibrary compiled = new CompiledLibrary();
                compiled.setIdentifier(library.getIdentifier());
                compiled.setLibrary(library);
                libraries.getCompiledLibraries().put(library.getIdentifier(), compiled);
                byName.put(library.getIdentifier().getId(), library);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** What the reference decided for one request: definition -> plain value, and the definitions that failed. */
    record Answer(String patientId, Map<String, Object> values, Map<String, RuntimeException> failures) {}

    /**
     * @param prefetchKeys the service's prefetch keys in its order (the record keeps the resources in that order)
     * @param orderSelect the call's draftOrders and selections are part of it (order-select)
     */
    Answer evaluate(byte[] requestBody, List<String> prefetchKeys, boolean orderSelect, String libraryName,
            Set<String> definitions, ZonedDateTime now) {
        Map<String, String> raw = rawMembers(requestBody);
        String patientId = textOf(raw.get("context.patientId"));
        IParser parser = fhir.newJsonParser();
        Patient patient = null;
        Map<String, Resource> byReference = new LinkedHashMap<>();
        for (String key : prefetchKeys) {
            String text = raw.get("prefetch." + key);
            if (text == null || text.equals("null")) {
                continue;
            }
            Resource parsed = (Resource) parser.parseResource(text);
            if (parsed instanceof Patient p) {
                patient = p;
            } else if (parsed instanceof Bundle b) {
                b.getEntry().forEach(e -> keepOwn(e.getResource(), patientId, byReference));
            }
        }
        List<String> selected = new ArrayList<>();
        if (orderSelect) {
            Bundle drafts = (Bundle) parser.parseResource(raw.get("context.draftOrders"));
            drafts.getEntry().stream().map(Bundle.BundleEntryComponent::getResource)
                    .filter(r -> r instanceof org.hl7.fhir.r4.model.ServiceRequest)
                    .forEach(r -> keepOwn(r, patientId, byReference));
            for (String s : stringsOf(raw.get("context.selections"))) {
                if (s.startsWith("ServiceRequest/")) {
                    selected.add(s);
                }
            }
        }
        Patient thePatient = patient;
        thePatient.setId(thePatient.getIdElement().getIdPart());
        List<Resource> record = new ArrayList<>(byReference.values());
        Map<String, Object> parameters = orderSelect ? Map.of("Selected Orders", selected) : Map.of();

        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, RuntimeException> failures = new LinkedHashMap<>();
        try {
            EvaluationResult result = engine(thePatient, record).evaluate(byName.get(libraryName).getIdentifier(),
                    definitions, Pair.of("Patient", patientId), parameters, null, now);
            for (String d : definitions) {
                values.put(d, CqlValues.toPlain(result.forExpression(d).value()));
            }
        } catch (RuntimeException whole) {
            for (String d : definitions) { // one at a time, each on a fresh engine: which ones fail
                try {
                    EvaluationResult one = engine(thePatient, record).evaluate(byName.get(libraryName).getIdentifier(),
                            Set.of(d), Pair.of("Patient", patientId), parameters, null, now);
                    values.put(d, CqlValues.toPlain(one.forExpression(d).value()));
                } catch (RuntimeException e) {
                    failures.put(d, e);
                }
            }
        }
        return new Answer(patientId, values, failures);
    }

    private CqlEngine engine(Patient patient, List<Resource> record) {
        Map<String, DataProvider> providers = Map.of(FHIR_MODEL_URI,
                new CompositeDataProvider(MODEL, new PlainRetrieve(patient, record, MODEL, valueSets)));
        return new CqlEngine(new Environment(libraries, providers, terminology),
                EnumSet.of(CqlEngine.Options.EnableExpressionCaching));
    }

    /** A resource of the hook's patient (subject exactly {@code Patient/<id>}), once per type and id (first kept). */
    private static void keepOwn(Resource r, String patientId, Map<String, Resource> byReference) {
        if (r == null || "OperationOutcome".equals(r.fhirType())) {
            return;
        }
        Reference subject = (Reference) r.getNamedProperty("subject").getValues().stream().findFirst().orElse(null);
        if (subject == null || !("Patient/" + patientId).equals(subject.getReference())) {
            return;
        }
        r.setId(r.getIdElement().getIdPart()); // as the EHR names it (HAPI puts the entry's fullUrl there)
        byReference.putIfAbsent(r.fhirType() + "/" + r.getIdElement().getIdPart(), r);
    }

    /** The raw text of the request's members the reference reads: prefetch.*, context.patientId/draftOrders/selections. */
    static Map<String, String> rawMembers(byte[] body) {
        Map<String, String> out = new LinkedHashMap<>();
        try (JsonParser p = TOKENS.createParser(body)) {
            p.nextToken();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String top = p.currentName();
                p.nextToken();
                if ((top.equals("prefetch") || top.equals("context")) && p.currentToken() == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String name = p.currentName();
                        p.nextToken();
                        int from = (int) p.currentTokenLocation().getByteOffset();
                        p.skipChildren();
                        p.finishToken(); // a string's end is read lazily
                        int to = (int) p.currentLocation().getByteOffset();
                        out.put(top + "." + name, new String(body, from, to - from, StandardCharsets.UTF_8));
                    }
                } else {
                    p.skipChildren();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static String textOf(String jsonString) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readValue(jsonString, String.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> stringsOf(String jsonArray) {
        try {
            return List.of(new com.fasterxml.jackson.databind.ObjectMapper().readValue(jsonArray, String[].class));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String resource(String path) {
        try (InputStream in = StockReference.class.getClassLoader().getResourceAsStream(path)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Retrieves over a list: by type, then by any coding at the code path in the codes or value set asked for. */
    private record PlainRetrieve(Patient patient, List<Resource> resources, ModelResolver model, ValueSetRepository valueSets)
            implements RetrieveProvider {

        @Override
        public Iterable<Object> retrieve(String context, String contextPath, Object contextValue, String dataType,
                String templateId, String codePath, Iterable<Code> codes, String valueSet, String datePath,
                String dateLowPath, String dateHighPath, Interval dateRange) {
            if (dateRange != null) {
                throw new UnsupportedOperationException("date-filtered retrieve");
            }
            if ("Patient".equals(dataType)) {
                return List.of(patient);
            }
            List<Object> out = new ArrayList<>();
            for (Resource r : resources) {
                if (!r.fhirType().equals(dataType)) {
                    continue;
                }
                if (codePath == null || (codes == null && valueSet == null)) {
                    out.add(r);
                    continue;
                }
                for (Coding c : codingsOf(model.resolvePath(r, codePath))) {
                    boolean listed = false;
                    if (codes != null) {
                        for (Code want : codes) {
                            listed |= want.getCode().equals(c.getCode()) && want.getSystem().equals(c.getSystem());
                        }
                    }
                    if (listed || (valueSet != null && c.getCode() != null
                            && valueSets.contains(valueSet, c.getSystem(), c.getCode()))) {
                        out.add(r);
                        break;
                    }
                }
            }
            return out;
        }

        private static List<Coding> codingsOf(Object value) {
            List<Coding> out = new ArrayList<>();
            if (value instanceof CodeableConcept cc) {
                out.addAll(cc.getCoding());
            } else if (value instanceof Coding c) {
                out.add(c);
            } else if (value instanceof Iterable<?> many) {
                many.forEach(v -> out.addAll(codingsOf(v)));
            }
            return out;
        }
    }

    /** {@code in}, expand and lookup over the value set files, written plainly. */
    private record PlainTerminology(ValueSetRepository valueSets) implements TerminologyProvider {

        @Override
        public boolean in(Code code, ValueSetInfo valueSet) {
            return code != null && code.getCode() != null
                    && valueSets.members(valueSet.getId()).values().stream()
                            .anyMatch(m -> m.code().equals(code.getCode()) && m.system().equals(code.getSystem()));
        }

        @Override
        public Iterable<Code> expand(ValueSetInfo valueSet) {
            return valueSets.members(valueSet.getId()).values().stream()
                    .map(m -> new Code().withSystem(m.system()).withCode(m.code()).withDisplay(m.display())).toList();
        }

        @Override
        public Code lookup(Code code, CodeSystemInfo codeSystem) {
            return null;
        }
    }
}
