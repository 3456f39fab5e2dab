package org.allcds.cds.hooks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.junit.jupiter.api.Test;

/**
 * A long request's tree built in parts with a helper is the tree of one parse; and any body that one parse
 * refuses is refused with the same words (the split reader then steps aside).
 */
class SplitTreeReaderTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HookRequestParser SPLIT = new HookRequestParser(0, (SplitTreeReader.EntryReader) null);
    private static final HookRequestParser WHOLE = new HookRequestParser();
    private static final SplitTreeReader.EntryReader DATA_LAYER = HookRequestParser.entryReader(
            new org.allcds.cds.fhirdata.PatientDataService(ca.uhn.fhir.context.FhirContext.forR4Cached(),
                    org.allcds.cql.CqlLogic.loadDefaults().observationCodesRead(), null, true));
    /** Read in parts: entries read by the data layer, from their tokens where plain. */
    private static final HookRequestParser READING_ENTRIES = new HookRequestParser(0, DATA_LAYER);
    /** As the service reads a request: in one pass, entries read by the data layer. */
    private static final HookRequestParser ONE_PASS = new HookRequestParser(Integer.MAX_VALUE, DATA_LAYER);

    @Test
    void aLongRequestReadInPartsIsTheTreeOfOneParse() throws Exception {
        for (Fixture f : FixtureCatalog.load()) {
            byte[] body = JSON.writeValueAsBytes(longRequest(f, 3));
            JsonNode whole = WHOLE.readTree(body);
            assertThat(splitTree(body)).as(f.resource()).isEqualTo(whole);
        }
        // Strings that hold what the scanner looks for: quotes, brackets, commas, backslashes, non-ASCII.
        ObjectNode request = longRequest(FixtureCatalog.load().get(0), 3);
        ObjectNode first = (ObjectNode) request.path("prefetch").path("observations").path("entry").path(0).path("resource");
        first.put("id", "a");
        first.putObject("code").put("text", "x\"],[{\\\"}\\\\ \u00e9\u4e2d\ud83d\ude00 ,]");
        byte[] pretty = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(request);
        assertThat(splitTree(pretty)).isEqualTo(WHOLE.readTree(pretty));
    }

    /**
     * Read in one pass, a request's tree is the tree of one parse where the entry reader reads nothing from the
     * tokens; where it does, each entry it read stands as it says and every other node is the same.
     */
    @Test
    void aRequestReadInOnePassIsTheTreeOfOneParse() throws Exception {
        java.util.concurrent.atomic.AtomicInteger tokenCalls = new java.util.concurrent.atomic.AtomicInteger();
        SplitTreeReader treesOnly = new SplitTreeReader(HookRequestParser.JSON, 0,
                new SplitTreeReader.EntryReader() {
                    @Override
                    public Object read(JsonNode element) {
                        return element.path("resource").path("id").asText(null);
                    }

                    @Override
                    public Object read(com.fasterxml.jackson.core.JsonParser element) {
                        tokenCalls.incrementAndGet();
                        return null;
                    }

                    @Override
                    public JsonNode inTree(Object answer) {
                        throw new AssertionError("nothing was read from the tokens");
                    }
                });
        SplitTreeReader dataLayer = new SplitTreeReader(HookRequestParser.JSON, 0, DATA_LAYER);
        int stoodIn = 0;
        for (Fixture f : FixtureCatalog.load()) {
            for (int copies : new int[] {0, 3}) {
                byte[] body = JSON.writeValueAsBytes(longRequest(f, copies));
                JsonNode whole = WHOLE.readTree(body);
                assertThat(new SplitTreeReader(HookRequestParser.JSON, Integer.MAX_VALUE, null).read(body)).isNull();
                tokenCalls.set(0);
                SplitTreeReader.Split trees = treesOnly.readInOnePass(body);
                assertThat(trees.root()).as(f.resource()).isEqualTo(whole);
                // an array whose elements are all given up on turns to trees after the first few
                assertThat(tokenCalls.get()).isEqualTo(objectsBeforeTrees(whole, 1));
                SplitTreeReader.Split read = dataLayer.readInOnePass(body);
                for (java.util.Iterator<String> keys = whole.path("prefetch").fieldNames(); keys.hasNext(); ) {
                    String key = keys.next();
                    JsonNode entries = whole.path("prefetch").path(key).path("entry");
                    if (!entries.isArray()) {
                        continue; // the Patient
                    }
                    JsonNode readEntries = read.root().path("prefetch").path(key).path("entry");
                    assertThat(trees.readAhead().get(trees.root().path("prefetch").path(key).path("entry")))
                            .as("the tree reader's answers").hasSize(entries.size());
                    Object[] answers = read.readAhead().get(readEntries);
                    assertThat(answers == null ? 0 : answers.length).isEqualTo(entries.size());
                    for (int i = 0; i < entries.size(); i++) {
                        if (readEntries.get(i).path("resource").size() == 1) { // stood in for: its resource's type only
                            assertThat(readEntries.get(i).path("resource").path("resourceType"))
                                    .isEqualTo(entries.get(i).path("resource").path("resourceType"));
                            assertThat(answers[i]).isNotNull();
                            stoodIn++;
                        } else {
                            assertThat(readEntries.get(i)).isEqualTo(entries.get(i));
                        }
                    }
                }
                ((ObjectNode) whole).remove("prefetch");
                ((ObjectNode) read.root()).remove("prefetch");
                assertThat(read.root()).isEqualTo(whole);
            }
        }
        assertThat(stoodIn).isGreaterThan(1000);
    }

    @Test
    void whatOneParseRefusesIsRefusedWithTheSameWords() throws Exception {
        byte[] good = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(longRequest(FixtureCatalog.load().get(0), 2));
        String text = new String(good, StandardCharsets.UTF_8);
        List<byte[]> bodies = new ArrayList<>();
        int entry = text.indexOf("\"entry\"");
        int deep = text.indexOf("\"resourceType\" : \"Observation\"", entry);
        bodies.add(text.replaceFirst("\"status\" : \"final\"", "\"status\" : \"final\", \"status\" : \"final\"")
                .getBytes(StandardCharsets.UTF_8)); // a duplicate member inside an entry
        // In the Observations' entries (a cut array, read from its tokens), a flaw in what the data layer steps over:
        int observations = text.indexOf("\"observations\"");
        assertThat(longRequest(FixtureCatalog.load().get(0), 2).path("prefetch").path("observations").path("entry").size())
                .isGreaterThanOrEqualTo(64);
        for (String[] flaw : List.of(
                new String[] {"\"mode\" : \"match\"", "\"mode\" : \"match\", \"mode\" : \"match\""}, // inside an entry's search
                new String[] {"\"fullUrl\" : ", "\"fullUrl\" : \"x\", \"fullUrl\" : "}, // an entry's own member twice
                new String[] {"\"fullUrl\" : \"", "\"fullUrl\" : \"\\q"}, // a bad escape in a string stepped over
                new String[] {"\"status\" : \"final\"", "\"status\" : \"final\", \"status\" : \"final\""})) { // in a resource
            int at = text.indexOf(flaw[0], observations);
            bodies.add((text.substring(0, at) + flaw[1] + text.substring(at + flaw[0].length())).getBytes(StandardCharsets.UTF_8));
        }
        bodies.add((text.substring(0, deep) + "\"id\" : 1, " + text.substring(deep)).getBytes(StandardCharsets.UTF_8));
        bodies.add(text.replaceFirst("\\}, \\{", "}, , {").getBytes(StandardCharsets.UTF_8)); // an empty element
        bodies.add(text.replaceFirst("\\}, \\{", "} {").getBytes(StandardCharsets.UTF_8)); // a missing comma
        bodies.add(text.replaceFirst("\\[ \\{", "[ {]").getBytes(StandardCharsets.UTF_8)); // an unbalanced bracket
        bodies.add((text + " trailing").getBytes(StandardCharsets.UTF_8));
        bodies.add(("\ufeff" + text).getBytes(StandardCharsets.UTF_8)); // a byte-order mark
        bodies.add(text.getBytes(StandardCharsets.UTF_16LE));
        StringBuilder nested = new StringBuilder(text.substring(0, deep));
        nested.append("\"x\" : ").append("[".repeat(1200)).append("]".repeat(1200)).append(", ").append(text.substring(deep));
        bodies.add(nested.toString().getBytes(StandardCharsets.UTF_8)); // deeper than Jackson's limit
        Random random = new Random(7);
        for (int i = 0; i < 40; i++) { // cut short anywhere, one byte changed anywhere
            bodies.add(java.util.Arrays.copyOf(good, random.nextInt(good.length)));
            byte[] changed = good.clone();
            String swaps = "{}[],\":\\ x0\u0000";
            changed[random.nextInt(changed.length)] = (byte) swaps.charAt(random.nextInt(swaps.length()));
            bodies.add(changed);
        }
        int refused = 0;
        int split = 0;
        for (byte[] body : bodies) {
            String expected = outcome(WHOLE, body);
            if (expected.startsWith("400")) {
                refused++;
                assertThat(splitTree(body)).as("refused whole: the split reader steps aside").isNull();
            } else if (splitTree(body) != null) {
                split++;
            }
            assertThat(outcome(SPLIT, body)).isEqualTo(expected);
            // the data layer reading entries from their tokens: the same refusals (its tree has entries stood in for)
            for (HookRequestParser readingEntries : List.of(READING_ENTRIES, ONE_PASS)) {
                String outcome = outcome(readingEntries, body);
                assertThat(outcome.startsWith("400") ? outcome : "accepted").isEqualTo(expected.startsWith("400") ? expected : "accepted");
            }
        }
        assertThat(refused).as("bodies refused").isGreaterThan(40);
        assertThat(split).as("bodies accepted and read in parts").isGreaterThan(5);
    }

    /** Bytes after the document ("{...} garbage", a second document) are a 400 however the body is read. */
    @Test
    void bytesAfterTheDocumentAreRefusedEveryWay() throws Exception {
        for (int copies : new int[] {0, 2}) { // short (one pass), long (in parts with a helper)
            String text = JSON.writeValueAsString(longRequest(FixtureCatalog.load().get(0), copies));
            for (String tail : List.of(" garbage", "{}", "\n{\"hook\":\"patient-view\"}", " ]", " 1", " \"x\"")) {
                byte[] body = bytes(text + tail);
                for (HookRequestParser parser : List.of(WHOLE, SPLIT, READING_ENTRIES, ONE_PASS)) {
                    assertThat(outcome(parser, body)).as("%d copies, tail %s", copies, tail)
                            .startsWith("400 request body is not valid JSON");
                    try {
                        parser.readTree(body);
                        throw new AssertionError("readTree accepted bytes after the document: " + tail);
                    } catch (RequestProblem p) {
                        assertThat(p.code()).isEqualTo("malformed-json");
                    }
                }
            }
            assertThat(outcome(SPLIT, bytes(text + " \n\t"))).as("whitespace after it is fine").startsWith("tree ");
        }
    }

    /**
     * Each element of a cut array is handed to the entry reader once as tokens; one it answers there stands in
     * the tree as it says, one it does not is parsed into its tree and handed over again; the answers line up
     * with the elements.
     */
    @Test
    void theEntryReadersAnswersLineUpWithEachCutArraysElements() throws Exception {
        java.util.Map<JsonNode, Integer> calls = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());
        java.util.concurrent.atomic.AtomicInteger tokenCalls = new java.util.concurrent.atomic.AtomicInteger();
        String twoLong = "{\"p\":{\"a\":{\"e\":[" + "{\"n\":1},".repeat(99) + "{\"n\":1}]},\"b\":{\"e\":["
                + "{\"n\":2},".repeat(70) + "{\"n\":2}]},\"c\":{\"e\":[{\"n\":3}]}}}";
        StringBuilder numbered = new StringBuilder(twoLong);
        for (int i = 0, at = 0; (at = numbered.indexOf("\"n\":", at)) >= 0; i++) {
            numbered.insert(at, "\"i\":" + i + ",");
            at += 10;
        }
        // From tokens: element i % 4 == 2 given up at once, i % 4 == 3 half-way, the others answered ("t" + i, read
        // to its end): never more given up than answered, so no run turns to trees. From the tree: i, or nothing
        // (it throws) when i % 50 == 7.
        SplitTreeReader reader = new SplitTreeReader(HookRequestParser.JSON, 0, new SplitTreeReader.EntryReader() {
            @Override
            public Object read(JsonNode element) {
                calls.merge(element, 1, Integer::sum);
                if (element.path("i").intValue() % 50 == 7) {
                    throw new IllegalStateException("an entry the reader cannot read");
                }
                return element.path("i").intValue();
            }

            @Override
            public Object read(com.fasterxml.jackson.core.JsonParser element) throws java.io.IOException {
                tokenCalls.incrementAndGet();
                element.nextToken(); // "i"
                int i = element.nextIntValue(-1);
                if (i % 4 == 2) {
                    return null;
                }
                element.nextToken(); // "n"
                if (i % 4 == 3) {
                    return null;
                }
                element.nextToken(); // its value
                element.nextToken(); // the closing brace
                return "t" + i;
            }

            @Override
            public JsonNode inTree(Object answer) {
                return JSON.createObjectNode().put("stood-in-for", (String) answer);
            }
        });
        SplitTreeReader.Split split = reader.read(bytes(numbered.toString()));
        JsonNode whole = WHOLE.readTree(bytes(numbered.toString()));
        assertThat(split.readAhead()).hasSize(2);
        int elements = 0;
        for (String bundle : List.of("a", "b")) {
            JsonNode array = split.root().path("p").path(bundle).path("e");
            JsonNode wholeArray = whole.path("p").path(bundle).path("e");
            Object[] answers = split.readAhead().get(array);
            assertThat(array.size()).isEqualTo(wholeArray.size());
            assertThat(answers).hasSize(array.size());
            for (int i = 0; i < array.size(); i++) {
                int id = wholeArray.get(i).path("i").intValue();
                if (id % 4 < 2) {
                    assertThat(answers[i]).as(bundle + " " + i).isEqualTo("t" + id);
                    assertThat(array.get(i).path("stood-in-for").asText()).isEqualTo("t" + id);
                    assertThat(calls.get(array.get(i))).isNull();
                } else {
                    assertThat(answers[i]).as(bundle + " " + i).isEqualTo(id % 50 == 7 ? null : id);
                    assertThat(array.get(i)).isEqualTo(wholeArray.get(i));
                    assertThat(calls.get(array.get(i))).isEqualTo(1);
                }
            }
            elements += array.size();
        }
        assertThat(tokenCalls.get()).isEqualTo(elements); // the short array, read with the rest of the document, is not handed over
        assertThat(calls).hasSize(elements / 2);
        assertThat(split.root().path("p").path("c")).isEqualTo(whole.path("p").path("c"));
        assertThat(new SplitTreeReader(HookRequestParser.JSON, 0, null).read(bytes(twoLong)).readAhead()).isEmpty();
    }

    @Test
    void onlyTheLongArraysAtTheDepthOfABundlesEntriesAreCut() throws Exception {
        byte[] body = JSON.writeValueAsBytes(longRequest(FixtureCatalog.load().get(0), 3));
        List<SplitTreeReader.Cut> cuts = SplitTreeReader.scan(body, null);
        JsonNode tree = WHOLE.readTree(body);
        int entries = 0;
        for (JsonNode bundle : tree.path("prefetch")) {
            entries += bundle.path("entry").size() >= 64 ? 1 : 0;
        }
        assertThat(cuts).hasSize(entries).isNotEmpty();
        for (SplitTreeReader.Cut cut : cuts) {
            assertThat(body[cut.open()]).isEqualTo((byte) '[');
            assertThat(body[cut.close()]).isEqualTo((byte) ']');
        }
        // 64 elements (the last one ended by the bracket) are cut, 63 are not; an array one level up is not.
        assertThat(SplitTreeReader.scan(bytes(nested(64, " ")), null)).hasSize(1);
        assertThat(SplitTreeReader.scan(bytes(nested(63, "")), null)).isEmpty();
        assertThat(SplitTreeReader.scan(bytes("{\"p\":{\"e\":[" + "{},".repeat(200) + "{}]}}"), null)).isEmpty();
        assertThat(SplitTreeReader.scan(bytes(nested(128, "\n")), null)).hasSize(1);
        String twoLong = "{\"p\":{\"a\":{\"e\":[" + "1,".repeat(99) + "1]},\"b\":{\"e\":[" + "2,".repeat(70) + "2]}}}";
        assertThat(SplitTreeReader.scan(bytes(twoLong), null)).hasSize(2);

        assertThat(SplitTreeReader.scan(bytes("[1,2]"), null)).as("not an object").isNull();
        assertThat(SplitTreeReader.scan(bytes("{\"a\":[1,2}"), null)).as("unbalanced").isNull();
        assertThat(SplitTreeReader.scan(bytes("{\"a\":\"[1,2}"), null)).as("unterminated").isNull();
        assertThat(SplitTreeReader.scan(bytes(nested(64, "").replace("}]", "},]")), null)).as("a trailing comma").isNull();
        assertThat(SplitTreeReader.scan(bytes(nested(200, "").replaceFirst("\\},\\{", "},,{")), null)).as("an empty element").isNull();
        // Each is read the same in parts as whole, or refused the same way.
        for (String text : List.of(nested(64, " "), nested(130, "\n  "), twoLong, nested(64, "").replace("}]", "},]"))) {
            assertThat(outcome(SPLIT, bytes(text))).isEqualTo(outcome(WHOLE, bytes(text)));
        }
    }

    /** In every array at a Bundle entry's depth (4; the root is 1), its objects, at most TREES_AFTER of them. */
    private static int objectsBeforeTrees(JsonNode node, int depth) {
        int n = 0;
        if (node.isArray() && depth == 4) {
            for (JsonNode element : node) {
                n += element.isObject() ? 1 : 0;
            }
            return Math.min(n, SplitTreeReader.TREES_AFTER);
        }
        if (node.isObject() && depth < 4) {
            for (JsonNode member : node) {
                n += objectsBeforeTrees(member, depth + 1);
            }
        }
        return n;
    }

    /** A Bundle-like document whose entry array (depth 4) has {@code n} elements, {@code space} around each. */
    private static String nested(int n, String space) {
        return "{\"prefetch\":{\"b\":{\"entry\":[" + (space + "{\"i\":[1,2]}" + space + ",").repeat(n - 1)
                + space + "{}" + space + "]}}}";
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** The tree the split reader builds (null: it stepped aside). */
    private static JsonNode splitTree(byte[] body) {
        SplitTreeReader.Split split = new SplitTreeReader(HookRequestParser.JSON, 0, null).read(body);
        return split == null ? null : split.root();
    }

    /** The body read as a hook call's is: its tree, or the 400's words. */
    private static String outcome(HookRequestParser parser, byte[] body) {
        try {
            return "tree " + parser.readParts(body).root();
        } catch (RequestProblem p) {
            return "400 " + p.getMessage();
        }
    }

    /** A fixture's request with every resource of its prefetch Bundles repeated (new ids) {@code copies} x 30 times. */
    private static ObjectNode longRequest(Fixture f, int copies) {
        ObjectNode request = HookRequests.withPrefetch(f, LocalDate.of(2025, 6, 1));
        for (JsonNode bundle : request.path("prefetch")) {
            if (!bundle.path("entry").isArray() || bundle.path("entry").isEmpty()) {
                continue;
            }
            com.fasterxml.jackson.databind.node.ArrayNode entries = (com.fasterxml.jackson.databind.node.ArrayNode) bundle.get("entry");
            List<JsonNode> original = new ArrayList<>();
            entries.forEach(original::add);
            for (int k = 0; k < copies * 30; k++) {
                for (JsonNode e : original) {
                    ObjectNode copy = e.deepCopy();
                    ((ObjectNode) copy.path("resource")).put("id", copy.path("resource").path("id").asText() + "-" + k);
                    entries.add(copy);
                }
            }
        }
        return request;
    }
}
