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
    /** Calls offered and not yet written or dropped by the writer. */
    private final AtomicLong pending = new AtomicLong();
    /** Calls the writer has written or dropped, ever: what {@link #flush} counts up to under steady load. */
    private final AtomicLong finished = new AtomicLong();
    private final long gatherMillis;
    /** Wakes a writer that is gathering: on close, and for a flush. */
    private final Object wake = new Object();
    private final AtomicBoolean failing = new AtomicBoolean();
    private final AtomicBoolean full = new AtomicBoolean();
    private final Thread thread;
    private volatile boolean closing;

    LedgerWriter(LedgerStore store, LedgerMetrics metrics, int capacity) {
        this(store, metrics, capacity, GATHER);
    }

    LedgerWriter(LedgerStore store, LedgerMetrics metrics, int capacity, Duration gather) {
        this.gatherMillis = gather.toMillis();
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

    /**
     * Waits (at most {@code timeout}) until every call offered so far is written or dropped; calls offered meanwhile
     * are not waited for, so under load it returns once the batches holding the earlier calls are written.
     */
    boolean flush(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        wakeWriter();
        long target = pending.get(); // read first: the calls written between the two reads only raise the target
        target += finished.get();
        while (pending.get() > 0 && finished.get() < target) {
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
                boolean interrupted = gather();
                queue.drainTo(batch, BATCH - 1);
                write(batch);
                if (interrupted) {
                    Thread.currentThread().interrupt(); // after the write, so its connection is not refused; ends the loop
                }
            } catch (InterruptedException e) {
                if (!closing) {
                    Thread.currentThread().interrupt();
                    return;
                }
            } finally {
                finished.addAndGet(batch.size());
                pending.addAndGet(-batch.size());
                batch.clear();
            }
        }
    }

    /** Waits for more calls unless closing, flushed or a batch is already waiting; true when interrupted meanwhile. */
    private boolean gather() {
        if (queue.size() >= BATCH - 1) {
            return false;
        }
        synchronized (wake) {
            try {
                if (!closing) {
                    wake.wait(gatherMillis);
                }
                return false;
            } catch (InterruptedException e) {
                return true;
            }
        }
    }

    private void wakeWriter() {
        synchronized (wake) {
            wake.notifyAll();
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
        wakeWriter();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
