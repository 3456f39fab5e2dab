package org.allcds.cds.fhirdata;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.allcds.cql.IdleHelpers;
import org.hl7.fhir.r4.model.Resource;

/**
 * Parses a Bundle's entries into HAPI resources, sharing a long Bundle with idle helper threads.
 *
 * <p>HAPI's parse is most of the data step (about 6 µs a resource) and entries are independent, so while
 * the EHR waits, an otherwise idle core parses part of the Bundle. The calling thread always works too,
 * and a helper is only handed work when one is idle at that moment: under load (no idle helper) the
 * caller parses everything itself, as with no helpers, and never waits in a queue. The answer is the
 * sequential one: resources in entry order, and the first entry (in order) that fails to parse is the
 * error reported.
 */
final class EntryParser implements AutoCloseable {

    private static final int CHUNK = 16;

    private final FhirContext fhirContext;
    private final IdleHelpers helpers;
    private final int minEntriesToShare;

    /**
     * @param helperCount threads that may help parse (0: every entry is parsed by the calling thread)
     * @param minEntriesToShare Bundles shorter than this are parsed by the calling thread alone
     */
    EntryParser(FhirContext fhirContext, int helperCount, int minEntriesToShare) {
        this.fhirContext = fhirContext;
        this.minEntriesToShare = Math.max(1, minEntriesToShare);
        this.helpers = new IdleHelpers("fhir-parse", helperCount);
    }

    int helperCount() {
        return helpers.count();
    }

    int minEntriesToShare() {
        return minEntriesToShare;
    }

    /** How one Bundle entry is looked at before it is parsed. */
    @FunctionalInterface
    interface Screen {
        /**
         * The entry's resource to parse, or null to leave the entry out (not parsed); throws for an entry
         * that must be refused.
         */
        JsonNode resourceOf(int index, JsonNode entry);
    }

    /** What is worked out on each resource once read, beside the parse; it must not throw (keep the problem in R). */
    @FunctionalInterface
    interface After<T, R> {
        R of(T resource);
    }

    private static final Object LEFT_OUT = new Object();

    /**
     * Each entry screened and its resource parsed as a {@code type}; the resources in entry order. The
     * first entry (in order) that is refused or fails to parse is the error thrown, as when entries are
     * read one by one and the reading stops there; a helper may have read entries after it, to no effect.
     *
     * @param after what is worked out on each resource read, in the same pass (by the same thread)
     * @param where names entry i in an error message (built only for an error)
     */
    <T extends Resource, R> List<R> parseAll(Class<T> type, List<JsonNode> entries, Screen screen, After<T, R> after,
            IntFunction<String> where) {
        int n = entries.size();
        if (helpers.count() == 0 || n < minEntriesToShare) {
            ResourceReader reader = new ResourceReader(fhirContext);
            List<R> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                JsonNode resource = screen.resourceOf(i, entries.get(i));
                if (resource != null) {
                    int at = i;
                    out.add(after.of(reader.read(type, resource, () -> where.apply(at))));
                }
            }
            return out;
        }
        Object[] outcomes = new Object[n]; // after's answer, LEFT_OUT, or what screening or parsing threw
        int chunks = (n + CHUNK - 1) / CHUNK;
        AtomicInteger nextChunk = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(chunks);
        Runnable work = () -> {
            ResourceReader reader = new ResourceReader(fhirContext); // HAPI parsers are per thread
            int c;
            while ((c = nextChunk.getAndIncrement()) < chunks) {
                try {
                    for (int i = c * CHUNK; i < Math.min(n, (c + 1) * CHUNK); i++) {
                        int at = i;
                        try {
                            JsonNode resource = screen.resourceOf(i, entries.get(i));
                            outcomes[i] = resource == null ? LEFT_OUT
                                    : after.of(reader.read(type, resource, () -> where.apply(at)));
                        } catch (Throwable t) { // kept for its place in the order; a helper must never die holding a chunk
                            outcomes[i] = t;
                        }
                    }
                } finally {
                    done.countDown();
                }
            }
        };
        for (int k = 0; k < helpers.count(); k++) {
            if (!helpers.offer(work)) {
                break; // no idle helper now: the caller parses the rest
            }
        }
        work.run();
        IdleHelpers.awaitUninterruptibly(done);
        List<R> out = new ArrayList<>(n);
        for (Object o : outcomes) {
            if (o instanceof RuntimeException e) {
                throw e;
            }
            if (o instanceof Error e) {
                throw e;
            }
            if (o != LEFT_OUT) {
                @SuppressWarnings("unchecked")
                R answer = (R) o;
                out.add(answer);
            }
        }
        return out;
    }

    @Override
    public void close() {
        helpers.close();
    }
}
