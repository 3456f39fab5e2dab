package org.allcds.cql;

import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.ZonedDateTime;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.apache.commons.lang3.tuple.Pair;
import org.cqframework.cql.cql2elm.LibraryManager;
import org.cqframework.cql.cql2elm.ModelManager;
import org.cqframework.cql.cql2elm.model.CompiledLibrary;
import org.cqframework.cql.elm.serializing.jackson.ElmJsonLibraryReader;
import org.hl7.elm.r1.ExpressionDef;
import org.hl7.elm.r1.FunctionDef;
import org.hl7.elm.r1.Library;
import org.hl7.elm.r1.ParameterDef;
import org.hl7.elm.r1.VersionedIdentifier;
import org.opencds.cqf.cql.engine.data.CompositeDataProvider;
import org.opencds.cqf.cql.engine.data.DataProvider;
import org.opencds.cqf.cql.engine.execution.CqlEngine;
import org.opencds.cqf.cql.engine.execution.Environment;
import org.opencds.cqf.cql.engine.execution.EvaluationResult;
import org.opencds.cqf.cql.engine.execution.ExpressionResult;
import org.opencds.cqf.cql.engine.execution.State;
import org.opencds.cqf.cql.engine.exception.CqlException;
import org.opencds.cqf.cql.engine.fhir.model.R4FhirModelResolver;
import org.opencds.cqf.cql.engine.model.CachingModelResolverDecorator;
import org.opencds.cqf.cql.engine.model.ModelResolver;
import org.opencds.cqf.cql.engine.terminology.TerminologyProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The project's CQL, ready to evaluate: ELM compiled at build time, loaded once, shared by every
 * request. Thread-safe after {@link #load}: each call builds its own evaluation state (a compiled
 * run, or an engine: cheap), because an engine's expression cache is only cleared when the patient
 * changes, and reusing one would hand a second call for the same patient the first call's results.
 *
 * <p>Two evaluators over the same ELM: {@link CompiledCql} (the default, the ELM compiled once into
 * Java closures calling the engine's operators) and the stock engine's interpreter
 * ({@link #evaluateWithEngine}), which stays the reference the compiled one is tested against, and
 * serves when the ELM holds a construct the compiler does not handle.
 */
public final class CqlLogic {

    private static final Logger log = LoggerFactory.getLogger(CqlLogic.class);

    private static final String FHIR_MODEL_URI = "http://hl7.org/fhir";

    private final LibraryManager libraryManager;
    private final ModelResolver modelResolver;
    private final ValueSetRepository valueSets;
    private final TerminologyProvider terminology;
    private final Map<String, Library> librariesByName;
    /** The interpreter's own parts, all stock: library manager with its default UCUM service, R4 model resolver. */
    private final LibraryManager stockLibraries;
    private final ModelResolver stockResolver;
    private final RecordEnvironment.LoadedLibraries loadedLibraries = new RecordEnvironment.LoadedLibraries();
    private final CompiledCql compiled; // null: the stock engine evaluates
    private final Set<String> observationCodesRead;

    private CqlLogic(LibraryManager libraryManager, ModelResolver modelResolver, ModelResolver fastResolver,
            LibraryManager stockLibraries, ModelResolver stockResolver, ValueSetRepository valueSets,
            Map<String, Library> librariesByName) {
        this.libraryManager = libraryManager;
        this.modelResolver = modelResolver;
        this.stockLibraries = stockLibraries;
        this.stockResolver = stockResolver;
        this.valueSets = valueSets;
        this.terminology = new ValueSetTerminologyProvider(valueSets);
        this.librariesByName = librariesByName;
        this.observationCodesRead = RetrievedCodes.of("Observation", librariesByName, valueSets);
        this.compiled = compile(fastResolver);
    }

    private CompiledCql compile(ModelResolver fastResolver) {
        long start = System.nanoTime();
        try {
            // The environment only resolves type names here; its (empty) record is never read.
            RecordEnvironment types = environment(PatientRecord.of(new org.hl7.fhir.r4.model.Patient(), java.util.List.of()));
            CompiledCql c = CompiledCql.compile(librariesByName, types, fastResolver);
            log.info("ELM compiled to closures in {} ms", (System.nanoTime() - start) / 1_000_000);
            return c;
        } catch (CompiledCql.UnsupportedElm e) {
            FastPathFallbacks.record("elm-compile", e); // logged (once) and counted: the interpreter evaluates instead
            return null;
        }
    }

    /**
     * Keys {@code system|code} of every Observation code the ELM retrieves: the codes of the value sets its
     * retrieves name and the codes they name directly. An Observation with none of them is read by no rule.
     */
    public Set<String> observationCodesRead() {
        return observationCodesRead;
    }

    /** True when calls are evaluated by the compiled ELM, false when by the engine's interpreter. */
    public boolean isCompiled() {
        return compiled != null;
    }

    private RecordEnvironment environment(PatientRecord record) {
        Map<String, DataProvider> providers = Map.of(FHIR_MODEL_URI,
                new CompositeDataProvider(modelResolver, new RecordRetrieveProvider(record, valueSets)));
        return new RecordEnvironment(libraryManager, providers, terminology, loadedLibraries);
    }

    /** The interpreter's environment: the engine's own, on stock parts (the reference for every fast part). */
    private Environment stockEnvironment(PatientRecord record) {
        Map<String, DataProvider> providers = Map.of(FHIR_MODEL_URI,
                new CompositeDataProvider(stockResolver, new RecordRetrieveProvider(record, valueSets)));
        return new Environment(stockLibraries, providers, terminology);
    }

    /**
     * Loads every ELM library the build produced (classpath {@code elm/}) into the library
     * manager's compiled-library cache. (ELM offered through a source provider is refused by
     * 3.29: its version check compares the translator version with the compatibility level, and
     * its signature check rejects FHIRHelpers.)
     */
    public static CqlLogic load(ValueSetRepository valueSets) {
        return load(valueSets, FhirContext.forR4Cached());
    }

    /** As {@link #load(ValueSetRepository)}, reusing the caller's FhirContext (building one costs ~0.5 s). */
    public static CqlLogic load(ValueSetRepository valueSets, FhirContext fhirContext) {
        LibraryManager libraryManager = new LibraryManager(new ModelManager(), ElmCompiler.compilerOptions());
        LibraryManager stockLibraries = new LibraryManager(new ModelManager(), ElmCompiler.compilerOptions());
        // No source providers: a library missing from the cache fails loudly instead of being
        // translated from CQL at run time.
        libraryManager.getLibrarySourceLoader().clearProviders();
        stockLibraries.getLibrarySourceLoader().clearProviders();
        libraryManager.setUcumService(new CachingUcumService(libraryManager.getUcumService()));
        ElmJsonLibraryReader reader = new ElmJsonLibraryReader();
        Map<String, Library> byName = new LinkedHashMap<>();
        for (String file : ClasspathIndex.list("elm")) {
            try (InputStream in = ClasspathIndex.open("elm/" + file)) {
                Library library = reader.read(in);
                // The engine finds definitions by binary search on the name.
                library.getStatements().getDef().sort(java.util.Comparator.comparing(ExpressionDef::getName));
                CompiledLibrary compiled = new CompiledLibrary();
                compiled.setIdentifier(library.getIdentifier());
                compiled.setLibrary(library);
                libraryManager.getCompiledLibraries().put(library.getIdentifier(), compiled);
                stockLibraries.getCompiledLibraries().put(library.getIdentifier(), compiled);
                byName.put(library.getIdentifier().getId(), library);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read ELM " + file, e);
            }
        }
        for (Library library : byName.values()) {
            checkValueSetsKnown(library, valueSets);
        }
        // One resolver for the process, on the shared FhirContext (its default constructor builds a new one).
        FastR4ModelResolver fast = new FastR4ModelResolver(fhirContext);
        ModelResolver resolver = new CachingModelResolverDecorator(fast);
        ModelResolver stock = new CachingModelResolverDecorator(new R4FhirModelResolver(fhirContext) {}); // its constructor is protected
        return new CqlLogic(libraryManager, resolver, fast, stockLibraries, stock, valueSets,
                Collections.unmodifiableMap(byName));
    }

    private static void checkValueSetsKnown(Library library, ValueSetRepository valueSets) {
        if (library.getValueSets() == null) {
            return;
        }
        for (var def : library.getValueSets().getDef()) {
            if (!valueSets.urls().contains(def.getId())) {
                throw new IllegalStateException("library " + library.getIdentifier().getId() + " declares value set "
                        + def.getId() + " but no ValueSet file defines it");
            }
        }
    }

    /** The project's libraries (FHIRHelpers excluded). */
    public Set<String> libraryNames() {
        Set<String> names = new LinkedHashSet<>(librariesByName.keySet());
        names.remove("FHIRHelpers");
        return names;
    }

    public ValueSetRepository valueSets() {
        return valueSets;
    }

    /** The expression definitions (not functions) of a library, in source order. */
    public Set<String> definitionNames(String libraryName) {
        Set<String> names = new LinkedHashSet<>();
        for (ExpressionDef def : library(libraryName).getStatements().getDef()) {
            if (!(def instanceof FunctionDef) && !"Patient".equals(def.getName())) {
                names.add(def.getName());
            }
        }
        return names;
    }

    /** Parameter names of a library with their declared type (e.g. {@code Decimal}). */
    public Map<String, String> parameters(String libraryName) {
        Map<String, String> params = new LinkedHashMap<>();
        Library library = library(libraryName);
        if (library.getParameters() != null) {
            for (ParameterDef p : library.getParameters().getDef()) {
                String type = p.getParameterTypeSpecifier() instanceof org.hl7.elm.r1.NamedTypeSpecifier n
                        ? n.getName().getLocalPart()
                        : String.valueOf(p.getResultTypeName() == null ? "?" : p.getResultTypeName().getLocalPart());
                params.put(p.getName(), type);
            }
        }
        return params;
    }

    /**
     * Evaluates the named definitions for one patient.
     *
     * @param parameters overrides of the library's parameters (defaults apply to the others)
     * @param evaluationDateTime what {@code Now()} and {@code Today()} mean
     * @return definition name -> plain Java value (see {@link CqlValues})
     */
    public Map<String, Object> evaluate(String libraryName, Set<String> definitions, PatientRecord record,
            Map<String, Object> parameters, ZonedDateTime evaluationDateTime) {
        if (compiled == null) {
            return evaluateWithEngine(libraryName, definitions, record, parameters, evaluationDateTime);
        }
        return evaluate(libraryName, definitions, newRun(libraryName, record, parameters, evaluationDateTime));
    }

    /** One evaluation's state over the compiled ELM. */
    CompiledCql.Run newRun(String libraryName, PatientRecord record, Map<String, Object> parameters,
            ZonedDateTime evaluationDateTime) {
        RecordEnvironment environment = environment(record);
        State state = new State(environment, EnumSet.of(CqlEngine.Options.EnableExpressionCaching));
        state.init(library(libraryName));
        state.setEvaluationDateTime(evaluationDateTime);
        state.setContextValue("Patient", record.patientId());
        return new CompiledCql.Run(compiled, state, environment.resolveDataProviderByModelUri(FHIR_MODEL_URI),
                record.patientId(), parameters);
    }

    CompiledCql compiled() {
        return compiled;
    }

    Map<String, Object> evaluate(String libraryName, Set<String> definitions, CompiledCql.Run run) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (String definition : definitions) {
            Object value;
            try {
                value = compiled.evaluate(libraryName, definition, run);
            } catch (CqlException e) {
                throw e;
            } catch (RuntimeException e) {
                // As the engine: whatever an operator throws reaches the caller as a CqlException.
                throw new CqlException("Error evaluating expression " + definition + ": " + e.getMessage(), e);
            }
            values.put(definition, CqlValues.toPlain(value));
        }
        return values;
    }

    /**
     * As {@link #evaluate} (or {@link #evaluateWithEngine} when {@code interpreter}), but a definition that fails
     * does not take the others with it: its error goes to {@code failures} and the rest are still evaluated. For
     * the rare call whose whole evaluation failed: after each failure the next definitions get a fresh evaluation
     * state (what the failed one left half-done is not trusted).
     *
     * @param failures receives definition name -> its error, in evaluation order
     * @return the value of every definition that could be evaluated
     */
    public Map<String, Object> evaluateEach(String libraryName, Set<String> definitions, PatientRecord record,
            Map<String, Object> parameters, ZonedDateTime evaluationDateTime, boolean interpreter,
            Map<String, RuntimeException> failures) {
        Map<String, Object> values = new LinkedHashMap<>();
        boolean engineEvaluates = interpreter || compiled == null;
        CompiledCql.Run run = null;
        CqlEngine engine = null;
        for (String definition : definitions) {
            try {
                Object value;
                if (engineEvaluates) {
                    if (engine == null) {
                        engine = new CqlEngine(stockEnvironment(record), EnumSet.of(CqlEngine.Options.EnableExpressionCaching));
                    }
                    value = engine.evaluate(library(libraryName).getIdentifier(), Set.of(definition),
                            Pair.of("Patient", record.patientId()), parameters, null, evaluationDateTime)
                            .forExpression(definition).value();
                } else {
                    if (run == null) {
                        run = newRun(libraryName, record, parameters, evaluationDateTime);
                    }
                    value = compiled.evaluate(libraryName, definition, run);
                }
                values.put(definition, CqlValues.toPlain(value));
            } catch (RuntimeException e) {
                failures.put(definition, e);
                run = null;
                engine = null;
            }
        }
        return values;
    }

    /**
     * As {@link #evaluate}, by the CQL engine's own interpreter on stock parts (R4 model resolver, UCUM service,
     * environment): the reference for the compiled ELM and for the fast parts under it.
     */
    public Map<String, Object> evaluateWithEngine(String libraryName, Set<String> definitions, PatientRecord record,
            Map<String, Object> parameters, ZonedDateTime evaluationDateTime) {
        Library library = library(libraryName);
        CqlEngine engine = new CqlEngine(stockEnvironment(record), EnumSet.of(CqlEngine.Options.EnableExpressionCaching));
        EvaluationResult result = engine.evaluate(library.getIdentifier(), definitions,
                Pair.of("Patient", record.patientId()), parameters, null, evaluationDateTime);
        Map<String, Object> values = new LinkedHashMap<>();
        for (Map.Entry<String, ExpressionResult> e : result.expressionResults.entrySet()) {
            values.put(e.getKey(), CqlValues.toPlain(e.getValue().value()));
        }
        return values;
    }

    public Map<String, Object> evaluateAll(String libraryName, PatientRecord record, Map<String, Object> parameters,
            ZonedDateTime evaluationDateTime) {
        return evaluate(libraryName, definitionNames(libraryName), record, parameters, evaluationDateTime);
    }

    private Library library(String name) {
        Library library = librariesByName.get(name);
        if (library == null) {
            throw new IllegalArgumentException("no CQL library named " + name + "; loaded: " + librariesByName.keySet());
        }
        return library;
    }

    /** Convenience for tests and tools: value sets from the classpath, no site extension. */
    public static CqlLogic loadDefaults() {
        return load(ValueSetRepository.load(FhirContext.forR4Cached(), null));
    }
}
