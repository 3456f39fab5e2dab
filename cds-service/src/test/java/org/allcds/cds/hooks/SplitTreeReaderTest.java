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
import org.allcds.cql.IdleHelpers;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A long request's tree built in parts with a helper is the tree of one parse; and any body that one parse
 * refuses is refused with the same words (the split reader then steps aside).
 */
class SplitTreeReaderTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final IdleHelpers HELPERS = IdleHelpers.alwaysIdle("test-json");
    private static final HookRequestParser SPLIT = new HookRequestParser(HELPERS, 0, null);
    private static final HookRequestParser WHOLE = new HookRequestParser();

    @AfterAll
    static void stop() {
        HELPERS.close();
    }

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

    @Test
    void whatOneParseRefusesIsRefusedWithTheSameWords() throws Exception {
        byte[] good = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(longRequest(FixtureCatalog.load().get(0), 2));
        String text = new String(good, StandardCharsets.UTF_8);
        List<byte[]> bodies = new ArrayList<>();
        int entry = text.indexOf("\"entry\"");
        int deep = text.indexOf("\"resourceType\" : \"Observation\"", entry);
        bodies.add(text.replaceFirst("\"status\" : \"final\"", "\"status\" : \"final\", \"status\" : \"final\"")
                .getBytes(StandardCharsets.UTF_8)); // a duplicate member inside an entry
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
        }
        assertThat(refused).as("bodies refused").isGreaterThan(40);
        assertThat(split).as("bodies accepted and read in parts").isGreaterThan(5);
    }

    /** Each element of a cut array is handed to the entry reader once; its answers line up with the elements. */
    @Test
    void theEntryReadersAnswersLineUpWithEachCutArraysElements() throws Exception {
        java.util.Map<JsonNode, Integer> calls = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());
        String twoLong = "{\"p\":{\"a\":{\"e\":[" + "{\"n\":1},".repeat(99) + "{\"n\":1}]},\"b\":{\"e\":["
                + "{\"n\":2},".repeat(70) + "{\"n\":2}]},\"c\":{\"e\":[{\"n\":3}]}}}";
        StringBuilder numbered = new StringBuilder(twoLong);
        for (int i = 0, at = 0; (at = numbered.indexOf("\"n\":", at)) >= 0; i++) {
            numbered.insert(at, "\"i\":" + i + ",");
            at += 10;
        }
        SplitTreeReader reader = new SplitTreeReader(HookRequestParser.JSON, HELPERS, 0, element -> {
            calls.merge(element, 1, Integer::sum);
            if (element.path("i").intValue() % 50 == 7) {
                throw new IllegalStateException("an entry the reader cannot read");
            }
            return element.path("i").intValue();
        });
        SplitTreeReader.Split split = reader.read(bytes(numbered.toString()));
        assertThat(split.root()).isEqualTo(WHOLE.readTree(bytes(numbered.toString())));
        assertThat(split.readAhead()).hasSize(2);
        int elements = 0;
        for (String bundle : List.of("a", "b")) {
            JsonNode array = split.root().path("p").path(bundle).path("e");
            Object[] answers = split.readAhead().get(array);
            assertThat(answers).hasSize(array.size());
            for (int i = 0; i < array.size(); i++) {
                int id = array.get(i).path("i").intValue();
                assertThat(answers[i]).as(bundle + " " + i).isEqualTo(id % 50 == 7 ? null : id);
                assertThat(calls.get(array.get(i))).isEqualTo(1);
            }
            elements += array.size();
        }
        assertThat(calls).hasSize(elements); // the short array, read with the rest of the document, is not handed over
        assertThat(new SplitTreeReader(HookRequestParser.JSON, HELPERS, 0, null).read(bytes(twoLong)).readAhead()).isEmpty();
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
        SplitTreeReader.Split split = new SplitTreeReader(HookRequestParser.JSON, HELPERS, 0, null).read(body);
        return split == null ? null : split.root();
    }

    private static String outcome(HookRequestParser parser, byte[] body) {
        try {
            return "tree " + parser.readTree(body);
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
