package org.allcds.cds.fhirdata;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import org.hl7.fhir.r4.model.Resource;

/**
 * Parses a Bundle's entries into HAPI resources on the calling thread: resources in entry order, and the
 * first entry (in order) that fails to parse is the error reported.
 */
final class EntryParser {

    private final FhirContext fhirContext;
    private final boolean directRead;

    /** @param directRead plain resources read by {@link DirectResourceReader} (false: all by HAPI's parser) */
    EntryParser(FhirContext fhirContext, boolean directRead) {
        this.fhirContext = fhirContext;
        this.directRead = directRead;
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
     * read one by one and the reading stops there.
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
        if (unknown > 0) {
            ResourceReader reader = new ResourceReader(fhirContext, directRead);
            for (int i = 0; i < n; i++) {
                if (outcomes[i] == null) {
                    JsonNode resource = screen.resourceOf(i, entries.get(i)); // the first refusal, in order, is thrown
                    int at = i;
                    outcomes[i] = resource == null ? LEFT_OUT : after.of(reader.read(type, resource, () -> where.apply(at)));
                }
            }
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
}
