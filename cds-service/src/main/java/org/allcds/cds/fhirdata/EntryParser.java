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

    /** An entry left out of the answer (see {@code known} and {@link Screen}). */
    static final Object LEFT_OUT = new Object();

    /**
     * Each entry screened and its resource parsed as a {@code type}; the resources in entry order. The
     * first entry (in order) that is refused or fails to parse is the error thrown, as when entries are
     * read one by one and the reading stops there; a helper may have read entries after it, to no effect.
     *
     * @param known entry i's answer already worked out where it was parsed (an R, or {@link #LEFT_OUT}), taken
     *     as it is; null: the entry is screened and parsed here. A known entry is one that would not be refused.
     * @param after what is worked out on each resource read, in the same pass (by the same thread)
     * @param where names entry i in an error message (built only for an error)
     */
    <T extends Resource, R> List<R> parseAll(Class<T> type, List<JsonNode> entries, IntFunction<Object> known, Screen screen,
            After<T, R> after, IntFunction<String> where) {
        int n = entries.size();
        Object[] outcomes = new Object[n]; // after's answer, LEFT_OUT, or what screening or parsing threw
        int unknown = 0;
        for (int i = 0; i < n; i++) {
            if ((outcomes[i] = known.apply(i)) == null) {
                unknown++;
            }
        }
        if (unknown > 0 && (helpers.count() == 0 || unknown < minEntriesToShare)) {
            ResourceReader reader = new ResourceReader(fhirContext);
            for (int i = 0; i < n; i++) {
                if (outcomes[i] == null) {
                    JsonNode resource = screen.resourceOf(i, entries.get(i)); // the first refusal, in order, is thrown
                    int at = i;
                    outcomes[i] = resource == null ? LEFT_OUT : after.of(reader.read(type, resource, () -> where.apply(at)));
                }
            }
        } else if (unknown > 0) {
            parseShared(type, entries, screen, after, where, outcomes);
        }
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

    /** Fills in the outcomes still null, in chunks shared with the helpers idle now; each failure kept at its place. */
    private <T extends Resource, R> void parseShared(Class<T> type, List<JsonNode> entries, Screen screen, After<T, R> after,
            IntFunction<String> where, Object[] outcomes) {
        int n = entries.size();
        int chunks = (n + CHUNK - 1) / CHUNK;
        AtomicInteger nextChunk = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(chunks);
        Runnable work = () -> {
            ResourceReader reader = new ResourceReader(fhirContext); // HAPI parsers are per thread
            int c;
            while ((c = nextChunk.getAndIncrement()) < chunks) {
                try {
                    for (int i = c * CHUNK; i < Math.min(n, (c + 1) * CHUNK); i++) {
                        if (outcomes[i] != null) {
                            continue; // known
                        }
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
    }

    @Override
    public void close() {
        helpers.close();
    }
}
