package org.allcds.cql;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The rows of one query over a long list in a shared run ({@link CompiledCql.Run#shared}), evaluated by
 * the caller and by any helper of the run that is idle: chunks of rows taken in turn, each row's value
 * kept at its position, so the result is the list the caller alone builds, in the same order.
 *
 * <p>A row that throws stops the rows after it from being started, and the error of the first such row
 * in list order is the one the caller throws: the error the caller alone meets first. Only helpers at
 * the top of their work join a query (never a thread inside a row or a definition), so a thread that
 * waits for the rows others took never waits for itself.
 */
final class SharedRows {

    /**
     * One row: the query's alias bound to {@code element}, its lets, where and return, in {@code run}; the
     * return's value, or {@link #SKIP} when the where is not true. The caller alone evaluates rows with it too.
     */
    @FunctionalInterface
    interface Row {
        Object eval(CompiledCql.Run run, Object element, Object[] locals);
    }

    static final Object SKIP = new Object();

    /** Long queries evaluated this way since start (tests check that the path is taken). */
    private static final java.util.concurrent.atomic.LongAdder EVALUATED = new java.util.concurrent.atomic.LongAdder();

    private final CompiledCql.Run run;
    private final Object[] elements;
    private final Object[] values;
    private final Row row;
    /** The caller's locals when the query started (outer operands, aliases, lets): each thread works on a copy. */
    private final Object[] locals;
    private final int chunk;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger done = new AtomicInteger();
    private final CountDownLatch allDone = new CountDownLatch(1);
    private volatile int failedAt = Integer.MAX_VALUE;
    private Throwable firstError; // the error of row failedAt; guarded by this

    SharedRows(CompiledCql.Run run, Object[] elements, Row row, Object[] locals) {
        this.run = run;
        this.elements = elements;
        this.values = new Object[elements.length];
        this.row = row;
        this.locals = locals.clone();
        this.chunk = Math.max(1, Math.min(32, elements.length / 16));
    }

    /**
     * The query's rows with every helper that joins: the values of the rows whose where is true, in list
     * order. {@code open} lists the run's queries for its helpers while this one has rows to take.
     */
    List<Object> evaluate(IdleHelpers helpers, java.util.Deque<SharedRows> open) {
        EVALUATED.increment();
        open.push(this);
        try {
            helpers.offer(this::take); // none idle: a helper of the run may still join between its definitions
            take();
        } finally {
            open.remove(this);
        }
        IdleHelpers.awaitUninterruptibly(allDone); // the rows other threads took
        if (failedAt != Integer.MAX_VALUE) {
            throw CompiledCql.unchecked(firstError);
        }
        List<Object> result = new ArrayList<>(values.length);
        for (Object v : values) {
            if (v != SKIP) {
                result.add(v);
            }
        }
        return result;
    }

    static long evaluatedSoFar() {
        return EVALUATED.sum();
    }

    /** Whether rows are left to take. */
    boolean open() {
        return next.get() < elements.length;
    }

    /** Takes chunks of rows until none is left; safe to call from any thread, any number of times. */
    void take() {
        int n = elements.length;
        Object[] mine = null;
        while (true) {
            int from = next.getAndAdd(chunk);
            if (from >= n) {
                return;
            }
            if (mine == null) {
                mine = locals.clone();
            }
            int to = Math.min(n, from + chunk);
            for (int i = from; i < to; i++) {
                if (i > failedAt) {
                    continue; // the caller alone would not have got this far
                }
                try {
                    values[i] = row.eval(run, elements[i], mine);
                } catch (Throwable t) {
                    failed(i, t);
                }
            }
            if (done.addAndGet(to - from) == n) {
                allDone.countDown(); // also publishes the values written before it
            }
        }
    }

    private synchronized void failed(int i, Throwable t) {
        if (i < failedAt) {
            firstError = t;
            failedAt = i;
        }
    }
}
