package org.allcds.cql;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a fast path gave up and the stock way answered instead (the answer is the same, only slower). Each
 * cause is logged once, as a warning with its stack trace, so a broken fast path shows in the log and not only
 * as latency; every fallback is counted per path (the service exposes the counts as a metric).
 */
public final class FastPathFallbacks {

    private static final Logger log = LoggerFactory.getLogger(FastPathFallbacks.class);
    private static final Map<String, LongAdder> COUNTS = new ConcurrentHashMap<>();
    private static final Map<String, Boolean> LOGGED = new ConcurrentHashMap<>();

    private FastPathFallbacks() {}

    /**
     * @param path the fast path that gave up (a short stable name: the metric's tag)
     * @param cause what made it give up
     */
    public static void record(String path, Throwable cause) {
        COUNTS.computeIfAbsent(path, p -> new LongAdder()).increment();
        // a cause is its class and where it was thrown (not its message, which may carry values: unbounded)
        StackTraceElement[] at = cause.getStackTrace();
        String key = path + " " + cause.getClass().getName() + " " + (at.length == 0 ? "" : at[0]);
        if (LOGGED.putIfAbsent(key, Boolean.TRUE) == null) {
            log.warn("fast path '{}' gave up, the stock way answered instead (logged once per cause): {}", path,
                    cause.toString(), cause);
        }
    }

    /** Fallbacks since start, per path. */
    public static Map<String, Long> counts() {
        Map<String, Long> out = new TreeMap<>();
        COUNTS.forEach((path, n) -> out.put(path, n.sum()));
        return out;
    }

    /** Fallbacks since start on one path. */
    public static long count(String path) {
        LongAdder n = COUNTS.get(path);
        return n == null ? 0 : n.sum();
    }
}
