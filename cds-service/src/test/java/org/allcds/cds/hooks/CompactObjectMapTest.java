package org.allcds.cds.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.junit.jupiter.api.Test;

/** {@link CompactObjectMap} behaves as the {@code LinkedHashMap} Jackson uses by default, and the request trees built on it are the same. */
class CompactObjectMapTest {

    private static final ObjectMapper STOCK = new ObjectMapper();
    /** Jackson's own maps and lists, with the service's number settings (decimals exact, as written). */
    private static final ObjectMapper STOCK_EXACT_DECIMALS = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .nodeFactory(new com.fasterxml.jackson.databind.node.JsonNodeFactory(true))
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .build();

    @Test
    void randomOperationsAnswerAsALinkedHashMap() {
        Random random = new Random(20261201);
        // Names whose hashes collide ("Aa" and "BB"...) first: a hash match alone must not find a member.
        List<String> pool = new ArrayList<>(List.of("Aa", "BB", "AaAa", "BBBB", "AaBB", "BBAa"));
        for (int i = pool.size(); i < 3 * CompactObjectMap.SMALL; i++) {
            pool.add("k" + i);
        }
        for (int round = 0; round < 300; round++) {
            Map<String, JsonNode> compact = new CompactObjectMap();
            Map<String, JsonNode> reference = new LinkedHashMap<>();
            // Small objects most rounds; some outgrow the arrays and move to the large map.
            int names = round % 5 == 0 ? pool.size() : 1 + random.nextInt(CompactObjectMap.SMALL);
            for (int step = 0; step < 120; step++) {
                // A copy of the name half the time: lookups must not rely on identity alone.
                String name = random.nextBoolean() ? pool.get(random.nextInt(names)) : new String(pool.get(random.nextInt(names)));
                JsonNode value = IntNode.valueOf(random.nextInt(5));
                switch (random.nextInt(9)) {
                    case 0, 1, 2 -> assertThat(compact.put(name, value)).isEqualTo(reference.put(name, value));
                    case 3 -> assertThat(compact.remove(name)).isEqualTo(reference.remove(name));
                    case 4 -> assertThat(compact.get(name)).isEqualTo(reference.get(name));
                    case 5 -> assertThat(compact.containsKey(name)).isEqualTo(reference.containsKey(name));
                    case 6 -> { // iterator removal at a random position, through each view
                        int at = reference.isEmpty() ? 0 : random.nextInt(reference.size());
                        int view = random.nextInt(3);
                        removeAt(view == 0 ? compact.keySet().iterator() : view == 1 ? compact.values().iterator()
                                : compact.entrySet().iterator(), at);
                        removeAt(view == 0 ? reference.keySet().iterator() : view == 1 ? reference.values().iterator()
                                : reference.entrySet().iterator(), at);
                    }
                    case 7 -> {
                        Set<String> some = new java.util.HashSet<>(List.of(name, pool.get(random.nextInt(names))));
                        if (random.nextBoolean()) {
                            assertThat(compact.keySet().removeAll(some)).isEqualTo(reference.keySet().removeAll(some));
                        } else {
                            compact.values().removeIf(v -> v.intValue() == value.intValue());
                            reference.values().removeIf(v -> v.intValue() == value.intValue());
                        }
                    }
                    default -> {
                        if (random.nextInt(10) == 0) {
                            compact.clear();
                            reference.clear();
                        }
                    }
                }
                assertThat(compact.size()).isEqualTo(reference.size());
                assertThat(new ArrayList<>(compact.entrySet())).isEqualTo(new ArrayList<>(reference.entrySet()));
                assertThat(new ArrayList<>(compact.keySet())).isEqualTo(new ArrayList<>(reference.keySet()));
                assertThat(new ArrayList<>(compact.values())).isEqualTo(new ArrayList<>(reference.values()));
                List<String> visited = new ArrayList<>();
                compact.forEach((k, v) -> visited.add(k + "=" + v));
                assertThat(visited).hasSize(reference.size());
                assertThat(compact).isEqualTo(reference);
                assertThat(reference).isEqualTo(compact);
                assertThat(compact.hashCode()).isEqualTo(reference.hashCode());
                // Past SMALL members, hashing takes over from scanning (no object costs quadratic time).
                if (reference.size() > CompactObjectMap.SMALL) {
                    assertThat(((CompactObjectMap) compact).isLarge()).isTrue();
                }
            }
        }
    }

    private static void removeAt(Iterator<?> iterator, int at) {
        for (int i = 0; iterator.hasNext(); i++) {
            iterator.next();
            if (i == at) {
                iterator.remove();
                return;
            }
        }
    }

    @Test
    void changingTheObjectWhileWalkingItIsCaught() {
        Map<String, JsonNode> compact = new CompactObjectMap();
        compact.put("a", IntNode.valueOf(1));
        compact.put("b", IntNode.valueOf(2));
        Iterator<String> names = compact.keySet().iterator();
        names.next();
        compact.put("c", IntNode.valueOf(3));
        assertThatThrownBy(names::next).isInstanceOf(ConcurrentModificationException.class);
    }

    @Test
    void everyFixtureRequestReadsToTheTreeTheStockMapperBuilds() throws Exception {
        HookRequestParser parser = new HookRequestParser();
        List<Fixture> fixtures = FixtureCatalog.load();
        assertThat(fixtures).hasSizeGreaterThan(20);
        for (Fixture f : fixtures) {
            byte[] body = STOCK.writeValueAsBytes(HookRequests.withPrefetch(f, LocalDate.of(2025, 6, 1)));
            JsonNode ours = parser.readTree(body);
            JsonNode stock = STOCK_EXACT_DECIMALS.readTree(body);
            assertThat(ours).as(f.scenario()).isEqualTo(stock);
            assertThat(stock).as(f.scenario()).isEqualTo(ours);
            assertThat(ours.toString()).as(f.scenario()).isEqualTo(stock.toString()); // member order kept
        }
    }

    @Test
    void anObjectWithManyMembersKeepsItsOrderAndADuplicateAnywhereIsRefused() throws Exception {
        HookRequestParser parser = new HookRequestParser();
        StringBuilder wide = new StringBuilder("{");
        for (int i = 0; i < 200; i++) {
            wide.append(i == 0 ? "" : ",").append("\"m").append(199 - i).append("\":").append(i);
        }
        String body = wide.append("}").toString();
        ObjectNode tree = (ObjectNode) parser.readTree(body.getBytes(StandardCharsets.UTF_8));
        assertThat(tree.toString()).isEqualTo(STOCK.readTree(body).toString());
        assertThat(tree.get("m0").intValue()).isEqualTo(199);

        for (String duplicated : List.of(
                "{\"hook\":\"patient-view\",\"hook\":\"order-select\"}",
                "{\"a\":{\"b\":1,\"c\":2,\"d\":3,\"b\":null}}",
                "{\"a\":[{\"x\":1},{\"y\":[],\"y\":{}}]}",
                body.replace("\"m0\":199}", "\"m0\":199,\"m150\":1}"))) {
            assertThatThrownBy(() -> parser.readTree(duplicated.getBytes(StandardCharsets.UTF_8)))
                    .isInstanceOf(RequestProblem.class)
                    .hasMessageStartingWith("request body is not valid JSON: Duplicate field '")
                    .hasMessageContaining(" at line 1, column ")
                    .hasMessageNotContaining("FAIL_ON");
        }
    }
}
