package org.allcds.cql;

import java.util.HashMap;
import java.util.LinkedHashMap;
import org.opencds.cqf.cql.engine.execution.State;
import org.opencds.cqf.cql.engine.runtime.Tuple;

/**
 * The engine's {@link Tuple}, as compiled ELM builds it: the element names are shared by every tuple one
 * {@code Tuple} expression makes ({@link Shape}), the values sit in an array in that order, so a compiled
 * property read finds its element by position. The engine's map of elements is filled from the array only
 * when something asks for the whole map (the engine's equality and equivalence, printing), which the rules'
 * property reads never do. Nothing in the engine or the service writes into a tuple (a CQL tuple is a value).
 */
final class ArrayTuple extends Tuple {

    /** The element names of one {@code Tuple} expression, in its order; interned, so a lookup is mostly {@code ==}. */
    static final class Shape {
        final String[] names;

        Shape(String[] names) {
            this.names = new String[names.length];
            for (int i = 0; i < names.length; i++) {
                this.names[i] = names[i].intern();
            }
        }

        int indexOf(Object name) {
            for (int i = 0; i < names.length; i++) {
                if (names[i] == name) {
                    return i;
                }
            }
            for (int i = 0; i < names.length; i++) {
                if (names[i].equals(name)) {
                    return i;
                }
            }
            return -1;
        }
    }

    final Shape shape;
    final Object[] values;

    /** @param values in the order of {@code shape}'s names; kept, not copied */
    ArrayTuple(State state, Shape shape, Object[] values) {
        super(state);
        this.shape = shape;
        this.values = values;
    }

    @Override
    public Object getElement(String key) {
        int i = shape.indexOf(key);
        return i < 0 ? null : values[i];
    }

    @Override
    public HashMap<String, Object> getElements() {
        if (elements.size() < values.length) {
            for (int i = 0; i < values.length; i++) {
                elements.put(shape.names[i], values[i]);
            }
        }
        return elements;
    }

    @Override
    public void setElements(LinkedHashMap<String, Object> elements) {
        throw new UnsupportedOperationException("a compiled tuple is immutable");
    }

    /** The engine prints nested tuples from their map field: filled first, all the way down. */
    @Override
    public String toString() {
        fill(this);
        return super.toString();
    }

    private static void fill(Object value) {
        if (value instanceof ArrayTuple t) {
            t.getElements();
            for (Object v : t.values) {
                fill(v);
            }
        } else if (value instanceof Iterable<?> list) {
            list.forEach(ArrayTuple::fill);
        }
    }
}
