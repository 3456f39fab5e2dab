package org.allcds.cds.security;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.http.client.config.RequestConfig;

/**
 * What one hook call may spend on its fhirServer, every prefetch key and page together: response bytes,
 * resources, and a deadline. {@link ResponseSizeLimit} counts the bytes and checks the deadline on every
 * read of a response body, so a huge record or a dripping response is cut while it is read, not after;
 * {@link GuardedFhirClients} caps each request's connect and read timeouts at the time left.
 *
 * <p>Bound to the calling thread while it fetches ({@link #during}): HAPI runs the Apache client, and reads
 * the body, on the thread that calls it, and the interceptors under HAPI have no other way to know the call.
 */
public final class FhirServerCallBudget {

    private static final ThreadLocal<FhirServerCallBudget> CURRENT = new ThreadLocal<>();

    private final long maxBytes;
    private final int maxResources;
    private final long deadlineNanos;
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicInteger resources = new AtomicInteger();

    /** Starts the clock: the deadline is {@code timeToDeadline} from now. */
    public FhirServerCallBudget(long maxBytes, int maxResources, Duration timeToDeadline) {
        this.maxBytes = maxBytes;
        this.maxResources = maxResources;
        this.deadlineNanos = System.nanoTime() + timeToDeadline.toNanos();
    }

    /** Runs one fetch of this call with the budget bound to the current thread. */
    public <T> T during(Supplier<T> fetch) {
        FhirServerCallBudget outer = CURRENT.get();
        CURRENT.set(this);
        try {
            return fetch.get();
        } finally {
            if (outer == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(outer);
            }
        }
    }

    /** The budget of the fetch running on this thread; null outside one. */
    static FhirServerCallBudget current() {
        return CURRENT.get();
    }

    /** Counts resources read; false once the call has read more than its budget. */
    public boolean addResources(int count) {
        return resources.addAndGet(count) <= maxResources;
    }

    public int maxResources() {
        return maxResources;
    }

    public boolean deadlinePassed() {
        return deadlineNanos - System.nanoTime() <= 0;
    }

    void addBytes(long count) throws CallTooLargeException {
        if (bytes.addAndGet(count) > maxBytes) {
            throw new CallTooLargeException(maxBytes);
        }
    }

    void checkDeadline() throws DeadlinePassedException {
        if (deadlinePassed()) {
            throw new DeadlinePassedException();
        }
    }

    /** {@code config} with connect, pool and read timeouts no longer than the time left (at least 1 ms). */
    RequestConfig capTimeouts(RequestConfig config) throws DeadlinePassedException {
        checkDeadline();
        int left = (int) Math.max(1, Math.min(Integer.MAX_VALUE, (deadlineNanos - System.nanoTime()) / 1_000_000));
        return RequestConfig.copy(config)
                .setConnectTimeout(capped(config.getConnectTimeout(), left))
                .setConnectionRequestTimeout(capped(config.getConnectionRequestTimeout(), left))
                .setSocketTimeout(capped(config.getSocketTimeout(), left))
                .build();
    }

    private static int capped(int timeout, int left) {
        return timeout <= 0 ? left : Math.min(timeout, left); // 0 or -1: no timeout of its own
    }

    /** The hook call read more bytes from its fhirServer than {@code all-cds.fhir-server.max-call-bytes}. */
    public static final class CallTooLargeException extends IOException {
        CallTooLargeException(long max) {
            super("FHIR server responses of one call larger than " + max + " bytes");
        }
    }

    /** The hook call's fetching went past {@code all-cds.fhir-server.call-deadline}. */
    public static final class DeadlinePassedException extends IOException {
        DeadlinePassedException() {
            super("FHIR server fetching of one call went past its deadline");
        }
    }
}
