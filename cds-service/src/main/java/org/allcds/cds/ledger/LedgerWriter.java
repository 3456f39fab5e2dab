package org.allcds.cds.ledger;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the cards of hook calls after they are answered: a bounded queue and one writer thread, so a slow or
 * absent database never holds a hook call. The calls answered within {@link #GATHER} of a batch's first go in one
 * transaction. A full queue or a failed write drops the rows, counted in the metrics and logged once until writes
 * succeed again.
 */
final class LedgerWriter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LedgerWriter.class);
    private static final int BATCH = 256;
    /** A transaction per call cost the database more than the rows did; cards wait this much longer to be stored. */
    static final Duration GATHER = Duration.ofMillis(50);

    private final LedgerStore store;
    private final LedgerMetrics metrics;
    private final BlockingQueue<LedgerStore.IssuedCall> queue;
    /** Calls offered and not yet written or dropped by the writer (what {@link #flush} waits for). */
    private final AtomicLong pending = new AtomicLong();
    private final AtomicBoolean failing = new AtomicBoolean();
    private final AtomicBoolean full = new AtomicBoolean();
    private final Thread thread;
    private volatile boolean closing;

    LedgerWriter(LedgerStore store, LedgerMetrics metrics, int capacity) {
        this.store = store;
        this.metrics = metrics;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.thread = new Thread(this::run, "ledger-writer");
        thread.setDaemon(true);
        thread.start();
    }

    /** Never blocks: false (counted, logged once) when the queue is full. */
    boolean offer(LedgerStore.IssuedCall call) {
        pending.incrementAndGet();
        if (!closing && queue.offer(call)) {
            full.set(false);
            return true;
        }
        pending.decrementAndGet();
        metrics.failure(LedgerMetrics.Failure.QUEUE_FULL, call.cards().size());
        if (full.compareAndSet(false, true)) {
            log.warn("ledger: the write queue is full ({} calls waiting); cards are answered but not recorded until it drains",
                    queue.size());
        }
        return false;
    }

    /** Waits (at most {@code timeout}) until every call offered so far is written or dropped. */
    boolean flush(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (pending.get() > 0) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    private void run() {
        List<LedgerStore.IssuedCall> batch = new ArrayList<>(BATCH);
        while (!(closing && queue.isEmpty())) {
            try {
                LedgerStore.IssuedCall first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                gather();
                queue.drainTo(batch, BATCH - 1);
                write(batch);
            } catch (InterruptedException e) {
                if (!closing) {
                    Thread.currentThread().interrupt();
                    return;
                }
            } finally {
                pending.addAndGet(-batch.size());
                batch.clear();
            }
        }
    }

    private void gather() {
        if (closing) {
            return;
        }
        try {
            Thread.sleep(GATHER.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the batch is still written; the next poll ends the thread
        }
    }

    private void write(List<LedgerStore.IssuedCall> batch) {
        try {
            store.writeIssued(batch);
            if (failing.compareAndSet(true, false)) {
                log.info("ledger: writing cards again");
            }
        } catch (RuntimeException e) {
            metrics.failure(LedgerMetrics.Failure.WRITE, batch.stream().mapToLong(c -> c.cards().size()).sum());
            if (failing.compareAndSet(false, true)) {
                log.warn("ledger: cards answered but not recorded, the database refused the write ({}); logged once until"
                        + " writes succeed again, counted in allcds_ledger_failures_total, kind write", e.toString());
            }
        }
    }

    /** Stops taking calls and writes what is queued (bounded), so a replica stopped cleanly loses no cards. */
    @Override
    public void close() {
        closing = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
