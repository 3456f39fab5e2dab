package org.allcds.cql;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A few threads that take work only when one is idle at that moment. A long request shares part of
 * its work with them while the EHR waits; under load (none idle) the caller does everything itself, as
 * with no helpers, and nothing ever waits in a queue behind another request.
 */
public final class IdleHelpers implements AutoCloseable {

    private final ThreadPoolExecutor pool; // null: none
    private final int count;

    /**
     * @param name the threads' name prefix
     * @param count helper threads (0: none; every piece of work stays with its caller)
     */
    public IdleHelpers(String name, int count) {
        this.count = Math.max(0, count);
        if (this.count == 0) {
            this.pool = null;
            return;
        }
        this.pool = new ThreadPoolExecutor(this.count, this.count, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
                daemons(name), new ThreadPoolExecutor.AbortPolicy());
        this.pool.prestartAllCoreThreads();
    }

    private IdleHelpers(ThreadPoolExecutor pool, int count) {
        this.pool = pool;
        this.count = count;
    }

    /**
     * One helper that is always idle: each offer starts (or reuses) a thread of its own. For tests, which
     * need the shared path taken every time rather than whenever the helper happens to be free.
     */
    public static IdleHelpers alwaysIdle(String name) {
        return new IdleHelpers(new ThreadPoolExecutor(0, Integer.MAX_VALUE, 1, TimeUnit.SECONDS, new SynchronousQueue<>(),
                daemons(name)), 1);
    }

    /** Numbered daemon threads: a helper never keeps the JVM alive. */
    private static ThreadFactory daemons(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Helpers to use for {@code setting}: -1 one fewer than the machine's cores, else the number given. */
    public static int count(int setting) {
        return setting < 0 ? Runtime.getRuntime().availableProcessors() - 1 : setting;
    }

    public int count() {
        return count;
    }

    /** Hands {@code work} to a helper idle now; false when none is (the caller keeps the work). */
    public boolean offer(Runnable work) {
        if (pool == null) {
            return false;
        }
        try {
            pool.execute(work);
            return true;
        } catch (RejectedExecutionException busy) {
            return false;
        }
    }

    /** Waits for work handed out (it finishes promptly); an interrupt is kept as the thread's flag, not lost. */
    public static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
