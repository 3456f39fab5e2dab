package org.allcds.cql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.opencds.cqf.cql.engine.elm.executing.EqualEvaluator;
import org.opencds.cqf.cql.engine.elm.executing.EquivalentEvaluator;
import org.opencds.cqf.cql.engine.execution.Environment;
import org.opencds.cqf.cql.engine.execution.State;
import org.opencds.cqf.cql.engine.runtime.Tuple;

/** A compiled tuple is, to the engine and to the service, the engine's Tuple with the same elements. */
class ArrayTupleTest {

    private static final State STATE = new State(new Environment(null));

    @Test
    void itsElementsReadAsTheEnginesTupleWithTheSameElements() {
        Tuple inner = tuple(new String[] {"code", "display"}, new Object[] {"C91.00", null});
        ArrayTuple compiled = new ArrayTuple(STATE, new ArrayTuple.Shape(new String[] {"ref", "value", "inner", "none"}),
                new Object[] {"Observation/1", new BigDecimal("1.50"), inner, null});
        Tuple engine = plain(List.of("ref", "value", "inner", "none"),
                java.util.Arrays.asList("Observation/1", new BigDecimal("1.50"), inner, null));

        Map<String, Object> view = compiled.getElements();
        Map<String, Object> reference = engine.getElements();
        assertThat(view).isEqualTo(reference).hasSameHashCodeAs(reference);
        assertThat(reference).isEqualTo(view);
        assertThat(view).hasToString(reference.toString());
        assertThat(new ArrayList<>(view.keySet())).containsExactly("ref", "value", "inner", "none");
        assertThat(new ArrayList<>(view.values())).isEqualTo(new ArrayList<>(reference.values()));
        assertThat(new ArrayList<>(view.entrySet())).isEqualTo(new ArrayList<>(reference.entrySet()));
        assertThat(new LinkedHashMap<>(view)).isEqualTo(reference);
        assertThat(new HashMap<>(view)).isEqualTo(reference);
        assertThat(view.size()).isEqualTo(4);
        assertThat(view.containsKey("none")).as("an element whose value is null is there").isTrue();
        assertThat(view.containsKey("other")).isFalse();
        assertThat(view.get("other")).isNull();
        assertThat(view.getOrDefault("other", "x")).isEqualTo("x");
        assertThat(view.getOrDefault("none", "x")).isNull();
        assertThat(view.containsValue(new BigDecimal("1.50"))).isTrue();
        List<String> seen = new ArrayList<>();
        view.forEach((k, v) -> seen.add(k + "=" + v));
        assertThat(seen).hasSize(4).startsWith("ref=Observation/1", "value=1.50");

        // a key built at run time (not the interned name) finds the same element
        assertThat(compiled.getElement(new String("value".toCharArray()))).isEqualTo(new BigDecimal("1.50"));
        assertThat(compiled.getElement("missing")).isNull();
        // Tuple.toString reads nested tuples' map field directly
        Tuple outer = tuple(new String[] {"t"}, new Object[] {compiled});
        assertThat(outer.toString()).isEqualTo(plain(List.of("t"), List.of(engine)).toString()).contains("Observation/1");
    }

    @Test
    void theEnginesOperatorsCompareCompiledTuplesByTheirElements() {
        // Every tuple of a compiled run is compiled (the engine's Equal compares classes first), shapes may differ.
        Tuple compiled = tuple(new String[] {"a", "b"}, new Object[] {1, "x"});
        assertThat(EqualEvaluator.equal(compiled, tuple(new String[] {"a", "b"}, new Object[] {1, "x"}), STATE)).isTrue();
        assertThat(EqualEvaluator.equal(compiled, tuple(new String[] {"a", "b"}, new Object[] {1, "y"}), STATE)).isFalse();
        assertThat(EqualEvaluator.equal(compiled, tuple(new String[] {"a", "c"}, new Object[] {1, "x"}), STATE)).isFalse();
        assertThat(EqualEvaluator.equal(compiled, tuple(new String[] {"a", "b"}, new Object[] {1, null}), STATE)).isNull();
        assertThat(EquivalentEvaluator.equivalent(compiled, tuple(new String[] {"a", "b"}, new Object[] {1, "x"}), STATE))
                .isTrue();
        assertThat(EquivalentEvaluator.equivalent(compiled, tuple(new String[] {"a"}, new Object[] {1}), STATE)).isFalse();
        assertThat(org.opencds.cqf.cql.engine.elm.executing.DistinctEvaluator.distinct(List.of(compiled,
                tuple(new String[] {"a", "b"}, new Object[] {1, "x"}), tuple(new String[] {"a", "b"}, new Object[] {2, "x"})),
                STATE)).hasSize(2);
        assertThat(new RecordEnvironment(null, Map.of(), null, new RecordEnvironment.LoadedLibraries())
                .resolvePath(compiled, "b")).isEqualTo("x");
    }

    @Test
    void itCannotBeReplaced() {
        Tuple compiled = tuple(new String[] {"a"}, new Object[] {1});
        assertThatThrownBy(() -> compiled.setElements(new LinkedHashMap<>()))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(compiled.getElement("a")).isEqualTo(1);
    }

    private static ArrayTuple tuple(String[] names, Object[] values) {
        return new ArrayTuple(STATE, new ArrayTuple.Shape(names), values);
    }

    private static Tuple plain(List<String> names, List<Object> values) {
        LinkedHashMap<String, Object> elements = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            elements.put(names.get(i), values.get(i));
        }
        return new Tuple(STATE).withElements(elements);
    }
}
