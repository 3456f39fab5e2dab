package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.allcds.cql.IdleHelpers;

/**
 * Builds the JSON tree of a long request with an idle helper thread: the long arrays near the top (a
 * prefetch Bundle's {@code entry}) are cut into runs of elements that the caller and the helper parse at
 * the same time, and the rest of the document, with each cut array's elements left out, is parsed apart
 * and the elements put back in their place. Same mapper, same nodes as one parse of the whole document.
 *
 * <p>Only a well-formed document is read this way: a document that is not a UTF-8 JSON object, is nested
 * deeper than {@link #MAX_DEPTH}, or fails to parse in any of its parts is answered null, and the caller
 * parses it whole, so every error (and its line and column) is the one-parse error. No helper idle (under
 * load): null before any work, so the caller's single parse costs what it did.
 */
final class SplitTreeReader {

    /** Arrays this deep or less may be cut (root object 1, prefetch 2, a Bundle 3, its entry 4). */
    private static final int CUT_DEPTH = 4;
    /** Deeper documents are parsed whole: Jackson's nesting limit (1,000) is then sure to be judged the same. */
    private static final int MAX_DEPTH = 200;
    private static final int MIN_ELEMENTS = 64;
    private static final int RUN = 64; // elements per piece of work
    private static final AtomicInteger CALLS = new AtomicInteger();
    private static final byte[] OPEN = {'['};
    private static final byte[] CLOSE = {']'};

    private final ObjectMapper json;
    private final IdleHelpers helpers;
    private final int minBytes;

    SplitTreeReader(ObjectMapper json, IdleHelpers helpers, int minBytes) {
        this.json = json;
        this.helpers = helpers;
        this.minBytes = minBytes;
    }

    /** The tree, or null: parse the document whole. */
    JsonNode read(byte[] body) {
        if (body.length < minBytes || helpers.count() == 0) {
            return null;
        }
        Work work = new Work();
        if (!helpers.offer(work::helperRun)) {
            return null; // no helper idle: one parse, nothing spent
        }
        try {
            List<Cut> cuts = cuts(body);
            if (cuts == null || cuts.isEmpty()) {
                return null;
            }
            String marker = "\u0000split-" + Long.toHexString(System.nanoTime()) + "-" + CALLS.incrementAndGet() + "#";
            work.start(body, cuts);
            byte[] skeleton = skeleton(body, cuts, marker);
            work.run();
            JsonNode root = json.readTree(skeleton);
            IdleHelpers.awaitUninterruptibly(work.done);
            if (work.failed || root == null || !root.isObject()) {
                return null;
            }
            List<ArrayNode> holes = new ArrayList<>();
            findHoles(root, marker, holes, 1);
            if (holes.size() != cuts.size()) {
                return null; // a string in the document looked like a marker: parse whole
            }
            for (int k = 0; k < cuts.size(); k++) {
                ArrayNode hole = holes.get(k);
                if (!hole.get(0).asText().equals(marker + k)) {
                    return null;
                }
                hole.removeAll();
                for (int r = work.firstRun[k]; r < work.firstRun[k + 1]; r++) {
                    hole.addAll(work.parsed[r]);
                }
            }
            return root;
        } catch (java.io.IOException | RuntimeException e) {
            return null; // whatever it is, the whole-document parse reports it
        } finally {
            work.release(); // the helper never waits past this call
        }
    }

    /** One cut array: its brackets' positions and each element's first and past-last byte. */
    record Cut(int open, int close, int[] starts, int[] ends) {}

    /**
     * The arrays to cut, in document order: arrays of {@link #MIN_ELEMENTS}+ elements at depth
     * {@link #CUT_DEPTH} or less, none inside another. Null when the document is not a UTF-8 object with
     * balanced brackets and terminated strings, at most {@link #MAX_DEPTH} deep.
     */
    static List<Cut> cuts(byte[] b) {
        if (b.length < 4 || b[0] == 0 || b[1] == 0 || b[2] == 0 || b[3] == 0) {
            return null; // Jackson would read UTF-16 or UTF-32 here
        }
        int i = skipSpace(b, 0);
        if (i >= b.length || b[i] != '{') {
            return null; // a byte-order mark, or not an object
        }
        byte[] kinds = new byte[MAX_DEPTH + 1];
        int[] opens = new int[CUT_DEPTH + 1];
        int[][] commas = new int[CUT_DEPTH + 1][];
        int[] commaCount = new int[CUT_DEPTH + 1];
        List<Cut> cuts = new ArrayList<>();
        int depth = 0;
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
                if (c == '[' && depth <= CUT_DEPTH) {
                    opens[depth] = i;
                    commas[depth] = new int[16];
                    commaCount[depth] = 0;
                }
            } else if (c == ',') {
                if (depth >= 1 && depth <= CUT_DEPTH && kinds[depth] == '[') {
                    if (commaCount[depth] == commas[depth].length) {
                        commas[depth] = Arrays.copyOf(commas[depth], commas[depth].length * 2);
                    }
                    commas[depth][commaCount[depth]++] = i;
                }
            } else if (c == '}' || c == ']') {
                if (depth == 0 || kinds[depth] != (c == '}' ? '{' : '[')) {
                    return null;
                }
                if (c == ']' && depth <= CUT_DEPTH) {
                    Cut cut = cut(b, opens[depth], i, commas[depth], commaCount[depth]);
                    if (cut != null) {
                        cuts.removeIf(inner -> inner.open > cut.open); // arrays inside it: it is cut whole
                        cuts.add(cut);
                    }
                    commas[depth] = null;
                }
                if (--depth == 0) {
                    return cuts; // what follows the root is the whole-document parser's business, unchanged
                }
            }
        }
        return null;
    }

    private static Cut cut(byte[] b, int open, int close, int[] commas, int commaCount) {
        if (commaCount + 1 < MIN_ELEMENTS) {
            return null;
        }
        int n = commaCount + 1;
        int[] starts = new int[n];
        int[] ends = new int[n];
        for (int k = 0; k < n; k++) {
            int from = k == 0 ? open + 1 : commas[k - 1] + 1;
            int to = k == n - 1 ? close : commas[k];
            from = skipSpace(b, from);
            while (to > from && isSpace(b[to - 1])) {
                to--;
            }
            if (from >= to) {
                return null; // an empty element ("[1,,2]"): malformed, the whole parse says so
            }
            starts[k] = from;
            ends[k] = to;
        }
        return new Cut(open, close, starts, ends);
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

    /** The runs of elements to parse, shared by the caller and one helper. */
    private final class Work {
        private final CountDownLatch ready = new CountDownLatch(1);
        private final AtomicInteger next = new AtomicInteger();
        private byte[] body;
        private int[][] runs = new int[0][]; // cut, first element, past-last element
        private List<Cut> cutList;
        int[] firstRun;
        ArrayNode[] parsed;
        volatile boolean failed;
        CountDownLatch done = new CountDownLatch(0);

        void start(byte[] body, List<Cut> cuts) {
            List<int[]> all = new ArrayList<>();
            firstRun = new int[cuts.size() + 1];
            for (int k = 0; k < cuts.size(); k++) {
                firstRun[k] = all.size();
                int n = cuts.get(k).starts.length;
                for (int e = 0; e < n; e += RUN) {
                    all.add(new int[] {k, e, Math.min(n, e + RUN)});
                }
            }
            firstRun[cuts.size()] = all.size();
            this.body = body;
            this.cutList = cuts;
            this.runs = all.toArray(new int[0][]);
            this.parsed = new ArrayNode[runs.length];
            this.done = new CountDownLatch(runs.length);
            ready.countDown();
        }

        /** Handed to the helper before the document is scanned; it waits for the runs (or for none). */
        void helperRun() {
            IdleHelpers.awaitUninterruptibly(ready);
            run();
        }

        /** Releases a helper still waiting when the call gave up before starting the work. */
        void release() {
            ready.countDown();
        }

        void run() {
            int r;
            while ((r = next.getAndIncrement()) < runs.length) {
                try {
                    if (!failed) {
                        parsed[r] = parseRun(runs[r]);
                    }
                } catch (Throwable t) { // the whole-document parse will report it
                    failed = true;
                } finally {
                    done.countDown();
                }
            }
        }

        private ArrayNode parseRun(int[] run) throws java.io.IOException {
            Cut cut = cutList.get(run[0]);
            int from = cut.starts[run[1]];
            int to = cut.ends[run[2] - 1];
            // "[" + the elements and the commas between them + "]", read in place (a copy would be the body again)
            JsonNode node = json.readTree(new java.io.SequenceInputStream(java.util.Collections.enumeration(List.of(
                    new java.io.ByteArrayInputStream(OPEN), new java.io.ByteArrayInputStream(body, from, to - from),
                    new java.io.ByteArrayInputStream(CLOSE)))));
            if (!(node instanceof ArrayNode a) || a.size() != run[2] - run[1]) {
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
