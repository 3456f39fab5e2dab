package org.allcds.cds.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

/** The writer thread: calls answered close together go to the database in one transaction, none is lost or held. */
class LedgerWriterTest {

    /** A store that records each transaction's calls instead of writing them (no connection is ever opened). */
    static final class RecordingStore extends LedgerStore {
        final List<List<String>> transactions = new CopyOnWriteArrayList<>();
        final long writeMillis;

        RecordingStore() {
            this(0);
        }

        /** @param writeMillis how long a transaction takes, as a database's does */
        RecordingStore(long writeMillis) {
            super(new SimpleDriverDataSource());
            this.writeMillis = writeMillis;
        }

        @Override
        public void writeIssued(List<IssuedCall> calls) {
            try {
                Thread.sleep(writeMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            transactions.add(calls.stream().map(IssuedCall::hookInstance).toList());
        }

        int calls() {
            return transactions.stream().mapToInt(List::size).sum();
        }
    }

    static LedgerStore.IssuedCall call(int i) {
        return new LedgerStore.IssuedCall("all-disease-status", "hook-" + i, "p" + i, "test", "logic 0", Instant.now(),
                List.of(new IssuedCard("card-" + i, "relapse", "warning", List.of("Observation/o" + i), "key", List.of())));
    }

    static LedgerWriter writer(LedgerStore store, Duration gather) {
        return new LedgerWriter(store, new LedgerMetrics(new SimpleMeterRegistry()), 1_000, gather);
    }

    @Test
    void callsAnsweredWithinTheGatheringTimeAreWrittenInOneTransactionInOrder() {
        RecordingStore store = new RecordingStore();
        try (LedgerWriter writer = writer(store, Duration.ofSeconds(2))) {
            for (int i = 0; i < 40; i++) {
                assertThat(writer.offer(call(i))).isTrue();
            }
            assertThat(writer.flush(Duration.ofSeconds(10))).isTrue();
        }
        // one transaction a call cost the database most of the ledger's CPU under load (benchmarks/README.md)
        assertThat(store.transactions).hasSize(1);
        assertThat(store.transactions.get(0)).as("every call written once, in the order answered")
                .containsExactlyElementsOf(IntStream.range(0, 40).mapToObj(i -> "hook-" + i).toList());
    }

    @Test
    void aFlushUnderSteadyLoadReturnsOnceTheEarlierCallsAreWritten() throws Exception {
        // feedback racing its card flushes the writer; under load calls keep coming while a batch is written, the
        // writer is never idle, and a flush that waited for that would hold every such feedback call for its timeout
        RecordingStore store = new RecordingStore(5);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger offered = new AtomicInteger();
        try (LedgerWriter writer = writer(store, LedgerWriter.GATHER)) {
            Thread load = new Thread(() -> {
                while (!stop.get()) {
                    writer.offer(call(offered.getAndIncrement()));
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            load.start();
            Thread.sleep(300);
            int before = offered.get() - 1; // the load thread's current offer may not be queued yet
            long start = System.nanoTime();
            boolean flushed = writer.flush(Duration.ofSeconds(3));
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            int written = store.calls();
            stop.set(true);
            load.join();
            assertThat(flushed).as("flush under load (took %d ms)", tookMillis).isTrue();
            assertThat(tookMillis).isLessThan(1_000);
            assertThat(written).as("the calls offered before the flush are written when it returns").isGreaterThanOrEqualTo(before);
        }
    }

    @Test
    void closingWritesWhatIsQueuedWithoutWaitingOutTheGatheringTime() {
        RecordingStore store = new RecordingStore();
        LedgerWriter writer = writer(store, Duration.ofSeconds(30));
        for (int i = 0; i < 5; i++) {
            writer.offer(call(i));
        }
        long start = System.nanoTime();
        writer.close();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(store.calls()).isEqualTo(5);
    }
}
