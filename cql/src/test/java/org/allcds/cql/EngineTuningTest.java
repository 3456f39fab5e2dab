package org.allcds.cql;

import static org.allcds.cql.TestRecord.NOW;
import static org.allcds.cql.TestRecord.SCT;
import static org.allcds.cql.TestRecord.ago;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.cqframework.cql.cql2elm.LibraryManager;
import org.cqframework.cql.cql2elm.ModelManager;
import org.hl7.elm.r1.FunctionDef;
import org.hl7.elm.r1.FunctionRef;
import org.junit.jupiter.api.Test;
import org.opencds.cqf.cql.engine.execution.CqlEngine;
import org.opencds.cqf.cql.engine.execution.Environment;

/**
 * The per-engine tuning of {@link CqlLogic#evaluate}: only function resolutions are shared between
 * evaluations; every evaluation answers for its own record, also for the same patient id and concurrently.
 */
class EngineTuningTest {

    private static final Set<String> DEFINITIONS = Set.of("Has ALL", "Computed CR Date");

    /** ALL since 200 days, in complete remission since {@code crDaysAgo} (none if null). Patient id is always p1. */
    private static PatientRecord remissionSince(Integer crDaysAgo) {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        if (crDaysAgo != null) {
            r.remission(ago(crDaysAgo));
        }
        return r.record();
    }

    /** No ALL (a headache), but marrow and counts that read as a remission 35 days ago. */
    private static PatientRecord noAll() {
        TestRecord r = TestRecord.aged(30);
        r.condition(SCT, "25064002", ago(3), "active");
        r.remission(ago(35));
        return r.record();
    }

    private static Map<String, Object> evaluate(CqlLogic logic, PatientRecord record) {
        return logic.evaluate("ALLCommon", DEFINITIONS, record, Map.of(), NOW);
    }

    private static Map<String, Object> answer(boolean hasAll, Integer crDaysAgo) {
        java.util.HashMap<String, Object> m = new java.util.HashMap<>();
        m.put("Has ALL", hasAll);
        m.put("Computed CR Date", crDaysAgo == null ? null : ago(crDaysAgo).toString());
        return m;
    }

    @Test
    void samePatientIdWithDifferentDataGetsItsOwnAnswersEachTime() {
        CqlLogic logic = TestRecord.logic();
        PatientRecord cr20 = remissionSince(20), cr50 = remissionSince(50), noCr = remissionSince(null), none = noAll();
        assertThat(List.of(cr20, cr50, noCr, none)).extracting(PatientRecord::patientId).containsOnly("p1");

        for (int round = 0; round < 2; round++) {
            assertThat(evaluate(logic, cr20)).as("round %d", round).isEqualTo(answer(true, 20));
            assertThat(evaluate(logic, cr50)).as("round %d", round).isEqualTo(answer(true, 50));
            assertThat(evaluate(logic, noCr)).as("round %d", round).isEqualTo(answer(true, null));
            assertThat(evaluate(logic, none)).as("round %d", round).isEqualTo(answer(false, 35));
        }
    }

    @Test
    void concurrentEvaluationsThroughOneLogicEachGetTheirOwnRecordsAnswer() throws Exception {
        CqlLogic logic = CqlLogic.loadDefaults(); // fresh: its shared function cache fills while the threads race
        List<PatientRecord> records = List.of(remissionSince(20), remissionSince(50), remissionSince(null), noAll());
        List<Map<String, Object>> expected = List.of(answer(true, 20), answer(true, 50), answer(true, null), answer(false, 35));
        int rounds = 200;
        ExecutorService pool = Executors.newFixedThreadPool(records.size());
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<List<String>>> results = new ArrayList<>();
            for (int t = 0; t < records.size(); t++) {
                PatientRecord record = records.get(t);
                Map<String, Object> want = expected.get(t);
                String name = "thread " + t;
                results.add(pool.submit((Callable<List<String>>) () -> {
                    start.await();
                    List<String> wrong = new ArrayList<>();
                    for (int i = 0; i < rounds; i++) {
                        Map<String, Object> got = evaluate(logic, record);
                        if (!got.equals(want) && wrong.size() < 5) {
                            wrong.add(name + " round " + i + ": " + got);
                        }
                    }
                    return wrong;
                }));
            }
            start.countDown();
            for (Future<List<String>> f : results) {
                assertThat(f.get(5, TimeUnit.MINUTES)).isEmpty();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ SharedFunctionCache

    @Test
    void functionCacheIsKeyedByNodeIdentity() {
        EngineTuning.SharedFunctionCache cache = new EngineTuning.SharedFunctionCache();
        FunctionRef ref = new FunctionRef().withName("ToQuantity").withLibraryName("FHIRHelpers");
        FunctionRef equalCopy = new FunctionRef().withName("ToQuantity").withLibraryName("FHIRHelpers");
        FunctionDef def = new FunctionDef().withName("ToQuantity");
        assertThat(equalCopy).isEqualTo(ref); // ELM nodes compare by value ...

        assertThat(cache.put(ref, def)).isNull();
        assertThat(cache.get(ref)).isSameAs(def);
        assertThat(cache.containsKey(ref)).isTrue();
        assertThat(cache.get(equalCopy)).isNull(); // ... the cache by identity
        assertThat(cache.containsKey(equalCopy)).isFalse();
        FunctionDef other = new FunctionDef().withName("ToQuantity");
        assertThat(cache.put(ref, other)).isSameAs(def);
        assertThat(cache).hasSize(1).containsEntry(ref, other);
    }

    @Test
    void applyMakesEveryEngineUseTheSharedFunctionCache() {
        EngineTuning.SharedFunctionCache shared = new EngineTuning.SharedFunctionCache();
        CqlEngine first = newEngine(), second = newEngine();
        EngineTuning.apply(first.getState(), first.getCache(), shared);
        EngineTuning.apply(second.getState(), second.getCache(), shared);
        assertThat(first.getCache().getFunctionCache()).isSameAs(shared);

        FunctionRef ref = new FunctionRef().withName("F");
        FunctionDef def = new FunctionDef().withName("F");
        first.getCache().cacheFunctionDef(ref, def);
        assertThat(second.getCache().getCachedFunctionDef(ref)).isSameAs(def);
        // Expression results stay per engine.
        assertThat(second.getCache().getExpressions()).isNotSameAs(first.getCache().getExpressions());
    }

    private static CqlEngine newEngine() {
        return new CqlEngine(new Environment(new LibraryManager(new ModelManager())));
    }
}
