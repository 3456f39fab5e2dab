package org.allcds.cds.hooks;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Reads a hook request's JSON with each prefetch Bundle's entries handed to the data layer as they are
 * parsed, in one of two ways:
 * <ul>
 *   <li>a long request read in parts (tests only since the helper threads went; this class is to go): the long arrays at the depth of a Bundle's {@code entry}
 *       are cut into runs of elements that the helper reads while the caller is still scanning for the next
 *       ones (and that the caller reads too once its scan is done); the rest of the document, with each cut
 *       array's elements left out, is parsed apart and the elements put back in their place ({@link #read});
 *   <li>otherwise, in one pass by the caller ({@link #readInOnePass}).
 * </ul>
 * Either way each element of such an array goes to the entry reader as tokens: the data layer reads the
 * entry straight into the FHIR model ({@code PatientDataService.readAhead}), with no tree built for it, and
 * what stands in the tree for it is what the reader says ({@link EntryReader#inTree}). An element it does not
 * read is parsed into its tree, which is handed to the reader again. Without an entry reader, the cut runs
 * are parsed into their trees: the same nodes as one parse of the whole document.
 *
 * <p>Only a well-formed document is read this way: a document that is not a UTF-8 JSON object, is nested
 * deeper than {@link #MAX_DEPTH}, has a member twice, or fails to parse in any of its parts is answered null,
 * and the caller parses it whole, so every error (and its line and column) is the one-parse error. No helper
 * idle (under load): {@link #read} answers null before any work.
 */
final class SplitTreeReader {

    /** The depth of the arrays that may be cut: root object 1, prefetch 2, a Bundle 3, its entry 4. */
    private static final int CUT_DEPTH = 4;
    /** Deeper documents are parsed whole: Jackson's nesting limit (1,000) is then sure to be judged the same. */
    private static final int MAX_DEPTH = 200;
    /** Elements given up on from their tokens, and more of them than read, after which an array's rest is read as trees. */
    static final int TREES_AFTER = 8;
    /** Elements per piece of work; an array of fewer is not cut. */
    private static final int RUN = 64;
    private static final AtomicInteger CALLS = new AtomicInteger();
    private static final byte[] OPEN = {'['};
    private static final byte[] CLOSE = {']'};

    private final ObjectMapper json;
    private final int minBytes;
    private final EntryReader entryReader;

    /** What the data layer reads from each element of a cut array where it is parsed. */
    interface EntryReader {
        /** From the element's tree: an answer, or null. */
        Object read(JsonNode element);

        /**
         * From the element's tokens, the parser's current token being its first: an answer, having read the
         * element to its end; or null, the parser anywhere inside it: its tree is built and read instead.
         */
        Object read(JsonParser element) throws java.io.IOException;

        /** What stands in the tree for an element answered from its tokens. */
        JsonNode inTree(Object answer);
    }

    /** @param entryReader what to read from each element of a cut array (null: nothing, the elements' trees are built) */
    SplitTreeReader(ObjectMapper json, int minBytes, EntryReader entryReader) {
        this.json = json;
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
        if (body.length < minBytes) {
            return null;
        }
        Work work = new Work(json, body, entryReader);
        try {
            List<Cut> cuts = scan(body, work); // every run is then read by the calling thread
            if (cuts == null || cuts.isEmpty()) {
                return null;
            }
            work.scanned();
            String marker = "\u0000split-" + Long.toHexString(System.nanoTime()) + "-" + CALLS.incrementAndGet() + "#";
            // what follows the root is in the skeleton: bytes there refuse it (and the whole parse words it)
            JsonNode root = json.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                    .readTree(skeleton(body, cuts, marker));
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

    /**
     * The tree of a document read in one pass by the caller, for a body the helpers do not share (short, or
     * no helper idle): every array at a Bundle's entry depth is read element by element as a cut array's run
     * is ({@link #readElements}), the rest into the tree as one parse builds it. Null, to parse the document
     * whole, when there is no entry reader, or anything is amiss: not an object, a member given twice where
     * the tree is built here, a JSON error anywhere, something after the root (one parse then words it).
     */
    Split readInOnePass(byte[] body) {
        if (entryReader == null || body.length < 4 || body[0] == 0 || body[1] == 0 || body[2] == 0 || body[3] == 0) {
            return null; // Jackson would read UTF-16 or UTF-32 here, whose offsets are not the body's bytes
        }
        try (JsonParser tokens = json.createParser(body)) {
            if (tokens.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            Map<JsonNode, Object[]> answers = new IdentityHashMap<>();
            ObjectNode root = object(tokens, body, 1, answers);
            if (root == null || tokens.nextToken() != null) {
                return null;
            }
            return new Split(root, answers);
        } catch (java.io.IOException | RuntimeException e) {
            return null; // the whole-document parse words it
        }
    }

    /** The object at the parser's current token, at {@code depth} (the root is 1); null when a member is given twice. */
    private ObjectNode object(JsonParser tokens, byte[] body, int depth, Map<JsonNode, Object[]> answers)
            throws java.io.IOException {
        ObjectNode object = json.createObjectNode();
        while (tokens.nextToken() == JsonToken.FIELD_NAME) {
            String name = tokens.currentName();
            if (object.has(name)) {
                return null;
            }
            JsonToken value = tokens.nextToken();
            JsonNode node;
            if (value == JsonToken.START_OBJECT && depth < CUT_DEPTH - 1) {
                node = object(tokens, body, depth + 1, answers);
                if (node == null) {
                    return null;
                }
            } else if (value == JsonToken.START_ARRAY && depth == CUT_DEPTH - 1) {
                ArrayNode elements = json.createArrayNode();
                List<Object> read = new ArrayList<>();
                readElements(json, entryReader, body, 0, tokens, elements, read);
                answers.put(elements, read.toArray());
                node = elements;
            } else {
                node = tokens.readValueAsTree(); // the mapper's own tree, which refuses a member given twice
            }
            object.set(name, node);
        }
        return object;
    }

    /**
     * The elements of the array whose opening bracket the parser has just read, to its closing one, each
     * given to the entry reader as tokens: one it answers there stands in {@code into} as it says; one it
     * does not (or that makes it throw anything but a JSON error) is parsed from its bytes into its tree,
     * which is handed to the reader again. Once {@link #TREES_AFTER} elements, and more than it read, were given
     * up on, the rest of the array goes straight into trees. Each answer (or null) goes into {@code answers}.
     *
     * @param shift the body offset of the parser's byte offset 0
     */
    static void readElements(ObjectMapper json, EntryReader reader, byte[] body, long shift, JsonParser tokens,
            ArrayNode into, List<Object> answers) throws java.io.IOException {
        JsonStreamContext array = tokens.getParsingContext();
        int read = 0;
        int givenUp = 0;
        for (JsonToken first; (first = tokens.nextToken()) != JsonToken.END_ARRAY; ) {
            if (first == null) {
                throw new IllegalStateException("not the elements expected");
            }
            JsonNode element;
            if (first != JsonToken.START_OBJECT || (givenUp >= TREES_AFTER && givenUp > read)) {
                // an array whose elements the reader mostly gives up on (an EHR that sends extensions, say):
                // the rest go straight into their trees, each parsed once
                element = tokens.readValueAsTree();
            } else {
                long from = tokens.currentTokenLocation().getByteOffset();
                Object answer = readTokens(reader, tokens);
                if (answer != null && tokens.getParsingContext() == array) {
                    into.add(reader.inTree(answer));
                    answers.add(answer);
                    read++;
                    continue;
                }
                givenUp++;
                while (tokens.getParsingContext() != array) { // to the element's closing brace
                    if (tokens.nextToken() == null) {
                        throw new IllegalStateException("not the elements expected");
                    }
                }
                long to = tokens.currentLocation().getByteOffset();
                element = json.readTree(body, (int) (shift + from), (int) (to - from));
            }
            into.add(element);
            answers.add(readTree(reader, element));
        }
    }

    /** The reader's answer from the element's tokens; null when it throws anything but a JSON error. */
    private static Object readTokens(EntryReader reader, JsonParser tokens) throws java.io.IOException {
        try {
            return reader.read(tokens);
        } catch (RuntimeException e) {
            org.allcds.cql.FastPathFallbacks.record("entry-from-tokens", e);
            return null;
        }
    }

    /** The reader's answer from the element's tree; one that throws has no answer (it is read again later, and fails there). */
    private static Object readTree(EntryReader reader, JsonNode element) {
        try {
            return reader.read(element);
        } catch (RuntimeException e) {
            org.allcds.cql.FastPathFallbacks.record("entry-from-tree", e);
            return null;
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
        private final EntryReader entryReader;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger completed = new AtomicInteger();
        /** Runs [0, published) are ready; the array is replaced, never changed below published, when it grows. */
        private volatile Run[] runs = new Run[16];
        private volatile int published;
        private volatile boolean scanEnded;
        volatile boolean failed;

        Work(ObjectMapper json, byte[] body, EntryReader entryReader) {
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
                    if (!failed && entryReader == null) {
                        run.parsed = parse(run);
                    } else if (!failed) {
                        read(run);
                    }
                } catch (Throwable t) { // the whole-document parse will report it
                    org.allcds.cql.FastPathFallbacks.record("json-split", t);
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

        /** The run's elements, each read as {@link #readElements} reads them. */
        private void read(Run run) throws java.io.IOException {
            ArrayNode parsed = json.getNodeFactory().arrayNode(run.count);
            List<Object> read = new ArrayList<>(run.count);
            try (JsonParser tokens = json.createParser(runBytes(run))) {
                if (tokens.nextToken() != JsonToken.START_ARRAY) {
                    throw new IllegalStateException("not the elements expected");
                }
                // the stream is "[" + the run's bytes: stream offset x is body offset run.from + x - 1
                readElements(json, entryReader, body, run.from - 1, tokens, parsed, read);
            }
            if (parsed.size() != run.count) {
                throw new IllegalStateException("not the elements expected");
            }
            run.parsed = parsed;
            run.read = read.toArray();
        }

        /** "[" + the run's elements and the commas between them + "]", read in place (a copy would be the body again). */
        private java.io.InputStream runBytes(Run run) {
            return new java.io.SequenceInputStream(java.util.Collections.enumeration(List.of(
                    new java.io.ByteArrayInputStream(OPEN), new java.io.ByteArrayInputStream(body, run.from, run.to - run.from),
                    new java.io.ByteArrayInputStream(CLOSE))));
        }

        private ArrayNode parse(Run run) throws java.io.IOException {
            JsonNode node = json.readTree(runBytes(run));
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
