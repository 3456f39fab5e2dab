package org.allcds.bench;

import org.allcds.fixtures.LongTreatedPatient;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCardJson;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.allcds.cds.hooks.HookRequest;
import org.allcds.cql.PatientRecord;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The steps of one {@code all-disease-status} call on a generated long-treated patient of N resources.
 * Each step is measured on the previous step's output, prepared once per trial:
 * parse (bytes -> HookRequest: the JSON tree, its CDS Hooks shape checked), data (HookRequest -> PatientRecord: the
 * entries read from the tree, member by member for the usual shapes and by HAPI's parser for any other, the checks in
 * entry order, the record),
 * cql (PatientRecord -> results of the definitions the cards use; a new record over the same resources each call,
 * so the record's per-evaluation code index is built inside the measurement as in a real call), cards (results -> cards),
 * whole (bytes -> JSON answer bytes: parse + HookHandler.handle + Jackson write, as the controller does).
 * SampleTime: every call is timed, so p50/p99 come from the histogram.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC", "-XX:NewRatio=1", "-XX:MetaspaceSize=64m"}) // the service's collector
public class HookCallBenchmark {

    @Param({"30", "300", "3000", "10000"})
    public int n;

    /** The card ledger off or on (embedded PostgreSQL): {@code -p ledger=off,on} compares them in one run. */
    @Param({"off"})
    public String ledger;

    private ServiceHarness harness;
    private byte[] body;
    private HookRequest request;
    private PatientRecord record;
    private List<org.allcds.cds.fhirdata.PrefetchKey> keys;
    private List<org.hl7.fhir.r4.model.Resource> recordResources;
    private Set<String> definitions;
    private Map<String, Object> results;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        harness = new ServiceHarness("on".equals(ledger));
        body = LongTreatedPatient.requestBytes(n, LocalDate.now());
        request = harness.parser.parse(body);
        keys = org.allcds.cds.hooks.HookHandler.prefetchKeys(harness.service);
        record = harness.data.load(keys, request.patientId(), request.prefetch(), null, List.of());
        recordResources = new java.util.ArrayList<>();
        for (String type : List.of("Condition", "Observation", "Procedure", "ServiceRequest")) {
            recordResources.addAll(record.ofType(type));
        }
        if (recordResources.size() + 1 != record.size()) {
            throw new IllegalStateException("the record holds resource types the cql benchmark does not copy");
        }
        definitions = harness.cards.definitionsUsed(harness.service);
        results = harness.evaluation.evaluate(harness.service.library(), definitions, record);
        List<CdsServiceResponseCardJson> built = harness.cards.build(harness.service, results, request.patientId());
        if (built.stream().noneMatch(c -> c.getSummary().contains("relapse"))) {
            throw new IllegalStateException("N=" + n + ": no relapse card; the generated patient is not the one intended");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        harness.close();
    }

    @Benchmark
    public HookRequest parse() {
        return harness.parser.parse(body);
    }

    @Benchmark
    public PatientRecord data() {
        return harness.data.load(keys, request.patientId(), request.prefetch(), null, List.of());
    }

    @Benchmark
    public Map<String, Object> cql() {
        return harness.evaluation.evaluate(harness.service.library(), definitions,
                PatientRecord.of(record.patient(), recordResources));
    }

    @Benchmark
    public List<CdsServiceResponseCardJson> cards() {
        return harness.cards.build(harness.service, results, request.patientId());
    }

    @Benchmark
    public byte[] whole() throws Exception {
        return harness.call(body);
    }
}
