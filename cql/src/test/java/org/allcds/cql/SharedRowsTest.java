package org.allcds.cql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The rows of a long query shared with helpers ({@link SharedRows}) give the caller-alone list, in its
 * order, and the caller-alone error; and the compiled CQL gives the caller-alone answers when every long
 * query of a run is shared. (The rows of the first three tests read no run: it is null there.)
 */
@Timeout(300)
class SharedRowsTest {

    private static final List<Object> ELEMENTS = IntStream.range(0, 200).boxed().map(i -> (Object) i).toList();

    @Test
    void rowsTakenByHelpersComeBackInListOrderWithoutTheSkippedOnes() {
        Set<String> threads = ConcurrentHashMap.newKeySet();
        SharedRows.Row row = (run, element, locals) -> {
            threads.add(Thread.currentThread().getName());
            pause(); // long enough rows that the helpers get some
            int i = (Integer) element;
            return i % 3 == 0 ? SharedRows.SKIP : locals[0] + "-" + i;
        };
        List<Object> expected = new ArrayList<>();
        for (Object e : ELEMENTS) {
            if ((Integer) e % 3 != 0) {
                expected.add("outer-" + e);
            }
        }
        try (IdleHelpers helpers = IdleHelpers.alwaysIdle("rows-test")) {
            List<Object> rows = new SharedRows(null, ELEMENTS.toArray(), row, new Object[] {"outer"})
                    .evaluate(helpers, new ConcurrentLinkedDeque<>());
            assertThat(rows).isEqualTo(expected);
        }
        assertThat(threads).as("threads that evaluated rows").hasSizeGreaterThan(1);
    }

    @Test
    void theFirstFailingRowInListOrderIsTheErrorWhoeverMetIt() {
        for (int round = 0; round < 5; round++) {
            SharedRows.Row row = (run, element, locals) -> {
                int i = (Integer) element;
                if (i == 37) {
                    sleep(50); // the other thread meets row 150's error first
                    throw new IllegalArgumentException("row 37");
                }
                if (i == 150) {
                    throw new IllegalStateException("row 150");
                }
                return i;
            };
            try (IdleHelpers helpers = IdleHelpers.alwaysIdle("rows-test")) {
                assertThatThrownBy(() -> new SharedRows(null, ELEMENTS.toArray(), row, new Object[0])
                        .evaluate(helpers, new ConcurrentLinkedDeque<>()))
                        .isInstanceOf(IllegalArgumentException.class).hasMessage("row 37");
            }
        }
    }

    @Test
    void aHelperOfTheRunTakesRowsOfTheQueriesOpenInIt() {
        ConcurrentLinkedDeque<SharedRows> open = new ConcurrentLinkedDeque<>();
        Set<String> threads = ConcurrentHashMap.newKeySet();
        Thread joiner = new Thread(() -> {
            while (open.isEmpty()) {
                Thread.onSpinWait();
            }
            for (SharedRows rows : open) {
                rows.take(); // what a helper does between its definitions
            }
        }, "joiner");
        joiner.start();
        SharedRows.Row row = (run, element, locals) -> {
            threads.add(Thread.currentThread().getName());
            pause();
            return element;
        };
        try (IdleHelpers none = new IdleHelpers("none", 0)) {
            assertThat(new SharedRows(null, ELEMENTS.toArray(), row, new Object[0]).evaluate(none, open)).isEqualTo(ELEMENTS);
        }
        assertThat(threads).contains("joiner");
        assertThat(open).as("a finished query is no longer open").isEmpty();
    }

    /** Every long query of every run shared with a helper that is always idle: the answers of the caller alone. */
    @Test
    void compiledCqlWithEveryLongQuerySharedGivesTheCallersAnswers() {
        CqlLogic alone = TestRecord.logic();
        CqlLogic shared = CqlLogic.loadDefaults();
        try (IdleHelpers helpers = IdleHelpers.alwaysIdle("rows-cql")) {
            shared.shareLongRecords(helpers, 0);
            long before = SharedRows.evaluatedSoFar();
            for (PatientRecord record : SharedRunTest.records()) {
                for (String library : alone.libraryNames()) {
                    Map<String, Object> expected = alone.evaluateAll(library, record, Map.of(), TestRecord.NOW);
                    assertThat(shared.evaluateAll(library, record, Map.of(), TestRecord.NOW)).isEqualTo(expected);
                }
            }
            assertThat(SharedRows.evaluatedSoFar() - before).as("long queries shared").isGreaterThan(10);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(0, 200_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
