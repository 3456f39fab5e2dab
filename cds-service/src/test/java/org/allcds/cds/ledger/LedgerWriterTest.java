package org.allcds.cds.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

/** The writer thread: the calls answered close together go to the database in one transaction, none is lost. */
class LedgerWriterTest {

    /** A store that records each transaction's calls instead of writing them (no connection is ever opened). */
    static final class RecordingStore extends LedgerStore {
        final List<List<String>> transactions = new CopyOnWriteArrayList<>();

        RecordingStore() {
            super(new SimpleDriverDataSource());
        }

        @Override
        public void writeIssued(List<IssuedCall> calls) {
            transactions.add(calls.stream().map(IssuedCall::hookInstance).toList());
        }
    }

    static LedgerStore.IssuedCall call(int i) {
        return new LedgerStore.IssuedCall("all-disease-status", "hook-" + i, "p" + i, "test", "logic 0", Instant.now(),
                List.of(new IssuedCard("card-" + i, "relapse", "warning", List.of("Observation/o" + i), "key", List.of())));
    }

    @Test
    void callsAnsweredCloseTogetherAreWrittenInOneTransactionInOrder() {
        RecordingStore store = new RecordingStore();
        try (LedgerWriter writer = new LedgerWriter(store, new LedgerMetrics(new SimpleMeterRegistry()), 1_000)) {
            for (int i = 0; i < 40; i++) {
                assertThat(writer.offer(call(i))).isTrue();
            }
            assertThat(writer.flush(Duration.ofSeconds(10))).isTrue();
        }
        // One transaction a call cost the database most of the ledger's CPU under load (benchmarks/README.md);
        // 40 calls offered within microseconds fall in the first batch's gathering time, or at worst two.
        assertThat(store.transactions).hasSizeLessThanOrEqualTo(2);
        assertThat(store.transactions.stream().flatMap(List::stream).toList())
                .as("every call written once, in the order answered")
                .containsExactlyElementsOf(java.util.stream.IntStream.range(0, 40).mapToObj(i -> "hook-" + i).toList());
    }

    @Test
    void closingWritesWhatIsQueuedWithoutWaitingToGather() {
        RecordingStore store = new RecordingStore();
        LedgerWriter writer = new LedgerWriter(store, new LedgerMetrics(new SimpleMeterRegistry()), 1_000);
        for (int i = 0; i < 5; i++) {
            writer.offer(call(i));
        }
        writer.close();
        assertThat(store.transactions.stream().mapToInt(List::size).sum()).isEqualTo(5);
    }
}
