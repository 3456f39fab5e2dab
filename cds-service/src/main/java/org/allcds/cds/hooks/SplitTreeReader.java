package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.allcds.cql.IdleHelpers;

/**
 * Builds the JSON tree of a long request with an idle helper thread: the long arrays at the depth of a
 * prefetch Bundle's {@code entry} are cut into runs of elements that the helper parses while the caller
 * is still scanning for the next ones (and that the caller parses too once its scan is done); the rest of
 * the document, with each cut array's elements left out, is parsed apart and the elements put back in
 * their place. Same mapper, same nodes as one parse of the whole document.
 *
 * <p>Whoever parses a run also hands each of its elements to the entry reader, if there is one, while the
 * run's tree is still in that core's cache: the data layer reads the entries into the FHIR model there
 * ({@code PatientDataService.readAhead}) rather than walking the whole tree again, from memory, later.
 *
 * <p>Only a well-formed document is read this way: a document that is not a UTF-8 JSON object, is nested
 * deeper than {@link #MAX_DEPTH}, or fails to parse in any of its parts is answered null, and the caller
 * parses it whole, so every error (and its line and column) is the one-parse error. No helper idle (under
 * load): null before any work, so the caller's single parse costs what it did.
 */
final class SplitTreeReader {

    /** The depth of the arrays that may be cut: root object 1, prefetch 2, a Bundle 3, its entry 4. */
    private static final int CUT_DEPTH = 4;
    /** Deeper documents are parsed whole: Jackson's nesting limit (1,000) is then sure to be judged the same. */
    private static final int MAX_DEPTH = 200;
    /** Elements per piece of work; an array of fewer is not cut. */
    private static final int RUN = 64;
    private static final AtomicInteger CALLS = new AtomicInteger();
    private static final byte[] OPEN = {'['};
    private static final byte[] CLOSE = {']'};

    private final ObjectMapper json;
    private final IdleHelpers helpers;
    private final int minBytes;
    private final Function<JsonNode, Object> entryReader;

    /** @param entryReader what to read from each element of a cut array once parsed (null: nothing) */
    SplitTreeReader(ObjectMapper json, IdleHelpers helpers, int minBytes, Function<JsonNode, Object> entryReader) {
        this.json = json;
        this.helpers = helpers;
        this.minBytes = minBytes;
        this.entryReader = entryReader;
    }

    /**
     * A document read in parts.
     *
     * @param readAhead for each cut array (by identity), the entry reader's answer for each element, in order
     */
    record Split(JsonNode root, Map<JsonNode, Object[]> readAhead) {}

    /** The tree, or null: parse the document whole. */
    Split read(byte[] body) {
        if (body.length < minBytes || helpers.count() == 0) {
            return null;
        }
        Work work = new Work(json, body, entryReader);
        if (!helpers.offer(work::take)) {
            return null; // no helper idle: one parse, nothing spent
        }
        try {
            List<Cut> cuts = scan(body, work); // the helper parses the runs found so far meanwhile
            if (cuts == null || cuts.isEmpty()) {
                return null;
            }
            work.scanned();
            String marker = "\u0000split-" + Long.toHexString(System.nanoTime()) + "-" + CALLS.incrementAndGet() + "#";
            JsonNode root = json.readTree(skeleton(body, cuts, marker));
            work.take();
            work.awaitAll();
            if (work.failed || root == null || !root.isObject()) {
                return null;
            }
            List<ArrayNode> holes = new ArrayList<>();
            findHoles(root, marker, holes, 1);
            if (holes.size() != cuts.size()) {
                return null; // a string in the document looked like a marker: parse whole
            }
            for (int k = 0; k < cuts.size(); k++) {
                if (!holes.get(k).get(0).asText().equals(marker + k)) {
                    return null;
                }
                holes.get(k).removeAll();
            }
            for (int r = 0; r < work.published; r++) {
                Run run = work.runs[r];
                holes.get(run.cut).addAll(run.parsed);
            }
            return new Split(root, readAhead(holes, work));
        } catch (java.io.IOException | RuntimeException e) {
            return null; // whatever it is, the whole-document parse reports it
        } finally {
            work.stop(); // a helper still taking runs stops
        }
    }

    /** Each cut array's elements' answers from the entry reader, in order (runs are published in document order). */
    private Map<JsonNode, Object[]> readAhead(List<ArrayNode> holes, Work work) {
        if (entryReader == null) {
            return Map.of();
        }
        Map<JsonNode, Object[]> answers = new IdentityHashMap<>(); // ArrayNode's equals compares content
        int[] filled = new int[holes.size()];
        for (int r = 0; r < work.published; r++) {
            Run run = work.runs[r];
            Object[] all = answers.computeIfAbsent(holes.get(run.cut), hole -> new Object[hole.size()]);
            System.arraycopy(run.read, 0, all, filled[run.cut], run.count);
            filled[run.cut] += run.count;
        }
        return answers;
    }

    /** One cut array: its brackets' positions. */
    record Cut(int open, int close) {}

    /** Elements {@code [from, to)} of the body, {@code count} of them, of cut number {@code cut}; parsed by whoever takes it. */
    private static final class Run {
        final int cut;
        final int from;
        final int to;
        final int count;
        ArrayNode parsed;
        /** The entry reader's answer for each element (null where it had none, or failed). */
        Object[] read;

        Run(int cut, int from, int to, int count) {
            this.cut = cut;
            this.from = from;
            this.to = to;
            this.count = count;
        }
    }

    /**
     * The arrays to cut, in document order: arrays of {@link #RUN}+ elements at depth {@link #CUT_DEPTH}.
     * Each run of {@link #RUN} elements is handed to {@code work} as soon as the scan has passed it (null:
     * the runs are not wanted). Null when the document is not a UTF-8 object with balanced brackets,
     * terminated strings and no empty element in a cut array, at most {@link #MAX_DEPTH} deep.
     */
    static List<Cut> scan(byte[] b, Work work) {
        if (b.length < 4 || b[0] == 0 || b[1] == 0 || b[2] == 0 || b[3] == 0) {
            return null; // Jackson would read UTF-16 or UTF-32 here
        }
        int i = skipSpace(b, 0);
        if (i >= b.length || b[i] != '{') {
            return null; // a byte-order mark, or not an object
        }
        byte[] kinds = new byte[MAX_DEPTH + 1];
        List<Cut> cuts = new ArrayList<>();
        int depth = 0;
        // The array at CUT_DEPTH being scanned: where it opened, where its pending elements start, how many
        // are pending (complete, not yet handed out), and whether it is cut (some run handed out already).
        int open = -1;
        int pendingFrom = -1;
        int pending = 0;
        int elementFrom = -1;
        boolean cut = false;
        for (; i < b.length; i++) {
            byte c = b[i];
            if (c == '"') {
                i = closingQuote(b, i);
                if (i < 0) {
                    return null;
                }
            } else if (c == '{' || c == '[') {
                if (++depth > MAX_DEPTH) {
                    return null;
                }
                kinds[depth] = c;
                if (c == '[' && depth == CUT_DEPTH) {
                    open = i;
                    elementFrom = i + 1;
                    pendingFrom = -1;
                    pending = 0;
                    cut = false;
                }
            } else if (c == ',') {
                if (depth == CUT_DEPTH && kinds[depth] == '[') {
                    int from = skipSpace(b, elementFrom);
                    if (from >= i) {
                        return null; // an empty element ("[1,,2]"): malformed, the whole parse says so
                    }
                    if (pending++ == 0) {
                        pendingFrom = from;
                    }
                    if (pending == RUN) {
                        cut = true;
                        if (work != null) {
                            work.publish(new Run(cuts.size(), pendingFrom, trimEnd(b, from, i), RUN));
                        }
                        pending = 0;
                    }
                    elementFrom = i + 1;
                }
            } else if (c == '}' || c == ']') {
                if (depth == 0 || kinds[depth] != (c == '}' ? '{' : '[')) {
                    return null;
                }
                if (c == ']' && depth == CUT_DEPTH) {
                    int from = skipSpace(b, elementFrom);
                    boolean last = from < i; // "[]", or "[ ... ]" ending in a comma (then malformed)
                    if (!last && (pending > 0 || cut)) {
                        return null; // "[1,2,]": malformed
                    }
                    if (last && pending++ == 0) {
                        pendingFrom = from;
                    }
                    if (cut || pending >= RUN) {
                        if (pending > 0 && work != null) {
                            work.publish(new Run(cuts.size(), pendingFrom, trimEnd(b, from, i), pending));
                        }
                        cuts.add(new Cut(open, i));
                    }
                }
                if (--depth == 0) {
                    return cuts; // what follows the root is the whole-document parser's business, unchanged
                }
            }
        }
        return null;
    }

    /** The end of the element that starts at {@code from} and is followed by the separator at {@code separator}. */
    private static int trimEnd(byte[] b, int from, int separator) {
        int to = separator;
        while (to > from && isSpace(b[to - 1])) {
            to--;
        }
        return to;
    }

    /** The document with each cut array holding one marker string instead of its elements. */
    private static byte[] skeleton(byte[] body, List<Cut> cuts, String marker) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        int from = 0;
        for (int k = 0; k < cuts.size(); k++) {
            Cut cut = cuts.get(k);
            out.write(body, from, cut.open + 1 - from);
            out.writeBytes(("\"" + marker.replace("\u0000", "\\u0000") + k + "\"").getBytes(StandardCharsets.UTF_8));
            from = cut.close;
        }
        out.write(body, from, body.length - from);
        return out.toByteArray();
    }

    /** The marked arrays of the skeleton, in document order (objects keep their members' order). */
    private static void findHoles(JsonNode node, String marker, List<ArrayNode> holes, int depth) {
        if (depth > CUT_DEPTH) {
            return;
        }
        if (node instanceof ArrayNode array && array.size() == 1 && array.get(0).isTextual()
                && array.get(0).asText().startsWith(marker)) {
            holes.add(array);
            return;
        }
        for (JsonNode child : node) {
            findHoles(child, marker, holes, depth + 1);
        }
    }

    /**
     * The runs of elements, handed out while the scan finds them: the helper takes them from the start, the
     * caller joins once its scan is done. A run is taken by one thread (a counter); a thread that has taken a
     * run the scan has not reached yet waits for it, or for the end of the scan.
     */
    static final class Work {
        private final ObjectMapper json;
        private final byte[] body;
        private final Function<JsonNode, Object> entryReader;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger completed = new AtomicInteger();
        /** Runs [0, published) are ready; the array is replaced, never changed below published, when it grows. */
        private volatile Run[] runs = new Run[16];
        private volatile int published;
        private volatile boolean scanEnded;
        volatile boolean failed;

        Work(ObjectMapper json, byte[] body, Function<JsonNode, Object> entryReader) {
            this.json = json;
            this.body = body;
            this.entryReader = entryReader;
        }

        /** Called by the scanning thread only. */
        void publish(Run run) {
            int n = published;
            Run[] array = runs;
            if (n == array.length) {
                array = java.util.Arrays.copyOf(array, n * 2);
                runs = array;
            }
            array[n] = run;
            published = n + 1;
        }

        /** The scan is over and every run is published. */
        void scanned() {
            scanEnded = true;
        }

        /** Nothing more is wanted: runs not started are left alone. */
        void stop() {
            failed = true;
            scanEnded = true;
        }

        /** Takes runs until there are none left (or the work failed); any thread, any number of times. */
        void take() {
            while (true) {
                int r = next.getAndIncrement();
                if (!awaitPublished(r)) {
                    return;
                }
                Run run = runs[r];
                try {
                    if (!failed) {
                        run.parsed = parse(run);
                        run.read = readEach(run.parsed);
                    }
                } catch (Throwable t) { // the whole-document parse will report it
                    failed = true;
                } finally {
                    completed.incrementAndGet();
                }
            }
        }

        /** Waits until run r is published (true) or the scan has ended without it (false). */
        private boolean awaitPublished(int r) {
            while (r >= published) {
                if (scanEnded) {
                    return r < published;
                }
                Thread.onSpinWait(); // the scan hands out a run every few tens of microseconds
            }
            return true;
        }

        /** Waits for the runs other threads took (each is a fraction of a millisecond of parsing). */
        void awaitAll() {
            while (completed.get() < published) {
                Thread.onSpinWait();
            }
        }

        /** The entry reader's answers; one that throws has no answer (the entry is read again later, and fails there). */
        private Object[] readEach(ArrayNode elements) {
            if (entryReader == null) {
                return null;
            }
            Object[] answers = new Object[elements.size()];
            for (int i = 0; i < answers.length; i++) {
                try {
                    answers[i] = entryReader.apply(elements.get(i));
                } catch (RuntimeException e) {
                    answers[i] = null;
                }
            }
            return answers;
        }

        private ArrayNode parse(Run run) throws java.io.IOException {
            // "[" + the elements and the commas between them + "]", read in place (a copy would be the body again)
            JsonNode node = json.readTree(new java.io.SequenceInputStream(java.util.Collections.enumeration(
                    List.of(new java.io.ByteArrayInputStream(OPEN), new java.io.ByteArrayInputStream(body, run.from, run.to - run.from),
                            new java.io.ByteArrayInputStream(CLOSE)))));
            if (!(node instanceof ArrayNode a) || a.size() != run.count) {
                throw new IllegalStateException("not the elements expected");
            }
            return a;
        }
    }

    private static int closingQuote(byte[] b, int open) {
        for (int j = open + 1; j < b.length; j++) {
            if (b[j] == '\\') {
                j++;
            } else if (b[j] == '"') {
                return j;
            }
        }
        return -1;
    }

    private static int skipSpace(byte[] b, int i) {
        while (i < b.length && isSpace(b[i])) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(byte c) {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
    }
}
