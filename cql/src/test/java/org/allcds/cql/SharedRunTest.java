package org.allcds.cql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Property;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.opencds.cqf.cql.engine.exception.CqlException;

/**
 * A run shared with a helper thread ({@link CqlLogic#shareLongRecords}) answers exactly as the caller alone:
 * every definition evaluated once, by whichever thread claims it, and a failing definition fails the call
 * with the same error.
 */
@Timeout(300) // a claim never released would leave a caller waiting: fail, do not hang
class SharedRunTest {

    private static final CqlLogic ALONE = TestRecord.logic();
    private static final String STATUS = "ALLDiseaseStatus";

    @Test
    void aHelperThatTookEveryRetrievingDefinitionFirstLeavesTheAnswersUnchanged() {
        CqlLogic logic = ALONE;
        for (PatientRecord record : records()) {
            for (String library : logic.libraryNames()) {
                Set<String> names = logic.definitionNames(library);
                CompiledCql.Run run = logic.newRun(library, record, Map.of(), TestRecord.NOW, true);
                int helped = logic.compiled().help(run);
                assertThat(helped).as("definitions the helper evaluated").isGreaterThan(10);
                assertThat(logic.evaluate(library, names, run))
                        .isEqualTo(logic.evaluate(library, names, record, Map.of(), TestRecord.NOW));
            }
        }
    }

    @Test
    void helpersRacingTheCallerGiveTheCallersAnswers() throws Exception {
        CqlLogic shared = CqlLogic.loadDefaults();
        try (IdleHelpers helpers = new IdleHelpers("test-cql", 2)) {
            shared.shareLongRecords(helpers, 0);
            List<PatientRecord> records = records();
            Map<PatientRecord, Map<String, Object>> expected = new java.util.HashMap<>();
            for (PatientRecord r : records) {
                expected.put(r, ALONE.evaluateAll(STATUS, r, Map.of(), TestRecord.NOW));
            }
            // Callers on several threads at once: sometimes a helper is idle, sometimes not.
            ExecutorService callers = Executors.newFixedThreadPool(3);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int round = 0; round < 20; round++) {
                    for (PatientRecord r : records) {
                        done.add(callers.submit(() -> assertThat(shared.evaluateAll(STATUS, r, Map.of(), TestRecord.NOW))
                                .isEqualTo(expected.get(r))));
                    }
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                callers.shutdownNow();
            }
        }
    }

    @Test
    void aDefinitionThatFailsInTheHelperFailsTheCallWithTheCallersError() {
        PatientRecord record = recordWithAnUnreadableObservation();
        Set<String> names = ALONE.definitionNames(STATUS);
        assertThatThrownBy(() -> ALONE.evaluate(STATUS, names, record, Map.of(), TestRecord.NOW))
                .isInstanceOf(CqlException.class).hasMessageContaining("unreadable on purpose");
        String alone = message(() -> ALONE.evaluate(STATUS, names, record, Map.of(), TestRecord.NOW));

        CompiledCql.Run run = ALONE.newRun(STATUS, record, Map.of(), TestRecord.NOW, true);
        ALONE.compiled().help(run); // every Observation retrieve fails in the helper first
        assertThat(message(() -> ALONE.evaluate(STATUS, names, run))).isEqualTo(alone);

        CqlLogic shared = CqlLogic.loadDefaults();
        try (IdleHelpers helpers = new IdleHelpers("test-cql", 1)) {
            shared.shareLongRecords(helpers, 0);
            for (int i = 0; i < 20; i++) {
                assertThat(message(() -> shared.evaluate(STATUS, names, record, Map.of(), TestRecord.NOW))).isEqualTo(alone);
            }
        }
    }

    private static String message(Runnable call) {
        try {
            call.run();
        } catch (CqlException e) {
            return e.getMessage();
        }
        throw new AssertionError("no error");
    }

    static List<PatientRecord> records() {
        List<PatientRecord> records = new ArrayList<>();
        for (Fixture f : FixtureCatalog.load()) {
            if (f.resource().contains("late-marrow-relapse") || f.resource().contains("refractory")
                    || f.resource().contains("cns")) {
                records.add(CompiledCqlTest.record(f, 0));
            }
        }
        Fixture longOne = FixtureCatalog.load().stream().filter(x -> x.resource().contains("late-marrow-relapse"))
                .findFirst().orElseThrow();
        records.add(CompiledCqlTest.record(longOne, 30));
        assertThat(records).hasSizeGreaterThan(3);
        return records;
    }

    /** A record in which reading Observations' codes throws: every retrieve of an Observation fails. */
    private static PatientRecord recordWithAnUnreadableObservation() {
        Fixture f = FixtureCatalog.load().stream().filter(x -> x.resource().contains("late-marrow-relapse"))
                .findFirst().orElseThrow();
        PatientRecord base = CompiledCqlTest.record(f, 0);
        List<Resource> resources = new ArrayList<>();
        for (String type : List.of("Condition", "Observation", "Procedure")) {
            resources.addAll(base.ofType(type));
        }
        Observation unreadable = new Observation() {
            @Override
            public Property getNamedProperty(String name) {
                throw new IllegalStateException("unreadable on purpose");
            }
        };
        unreadable.setId("bad");
        unreadable.setCode(new CodeableConcept(new Coding("http://loinc.org", "751-8", null)));
        resources.add(unreadable);
        return PatientRecord.of(base.patient(), resources);
    }
}
