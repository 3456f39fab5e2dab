package org.allcds.cql;

import java.util.AbstractCollection;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.opencds.cqf.cql.engine.execution.State;
import org.opencds.cqf.cql.engine.runtime.Tuple;

/**
 * The engine's {@link Tuple}, as compiled ELM builds it: the element names are shared by every tuple
 * one {@code Tuple} expression makes ({@link Shape}), the values sit in an array in that order. A
 * compiled property read finds its element by position, without hashing; the engine's operators and
 * the service see an ordinary Tuple, whose {@code elements} map is an immutable view of the array.
 *
 * <p>Why a {@link LinkedHashMap} subclass for that view: the engine reads the field {@code elements} of
 * nested tuples directly (in {@code Tuple.toString}), so it has to be the tuple's own map, and its type
 * is {@code LinkedHashMap}. Every read of {@link Map} is answered from the array; writes are refused
 * (a CQL tuple is a value, and nothing in the engine or the service writes into one).
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
        this.elements = new View(shape.names, values);
    }

    @Override
    public Object getElement(String key) {
        int i = shape.indexOf(key);
        return i < 0 ? null : values[i];
    }

    @Override
    public void setElements(LinkedHashMap<String, Object> elements) {
        throw new UnsupportedOperationException("a compiled tuple is immutable");
    }

    /** The tuple's elements as the engine's Tuple keeps them: a LinkedHashMap, here a read-only view of the array. */
    private static final class View extends LinkedHashMap<String, Object> {
        private final String[] names;
        private final Object[] values;

        View(String[] names, Object[] values) {
            super(1);
            this.names = names;
            this.values = values;
        }

        private int indexOf(Object key) {
            for (int i = 0; i < names.length; i++) {
                if (names[i].equals(key)) {
                    return i;
                }
            }
            return -1;
        }

        @Override
        public int size() {
            return names.length;
        }

        @Override
        public boolean isEmpty() {
            return names.length == 0;
        }

        @Override
        public Object get(Object key) {
            int i = indexOf(key);
            return i < 0 ? null : values[i];
        }

        @Override
        public Object getOrDefault(Object key, Object defaultValue) {
            int i = indexOf(key);
            return i < 0 ? defaultValue : values[i];
        }

        @Override
        public boolean containsKey(Object key) {
            return indexOf(key) >= 0;
        }

        @Override
        public boolean containsValue(Object value) {
            for (Object v : values) {
                if (java.util.Objects.equals(v, value)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public void forEach(BiConsumer<? super String, ? super Object> action) {
            for (int i = 0; i < names.length; i++) {
                action.accept(names[i], values[i]);
            }
        }

        @Override
        public Set<Map.Entry<String, Object>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public Iterator<Map.Entry<String, Object>> iterator() {
                    return new Positions<>(i -> new AbstractMap.SimpleImmutableEntry<>(names[i], values[i]));
                }

                @Override
                public int size() {
                    return names.length;
                }
            };
        }

        @Override
        public Set<String> keySet() {
            return new AbstractSet<>() {
                @Override
                public Iterator<String> iterator() {
                    return new Positions<>(i -> names[i]);
                }

                @Override
                public boolean contains(Object o) {
                    return indexOf(o) >= 0;
                }

                @Override
                public int size() {
                    return names.length;
                }
            };
        }

        @Override
        public Collection<Object> values() {
            return new AbstractCollection<>() {
                @Override
                public Iterator<Object> iterator() {
                    return new Positions<>(i -> values[i]);
                }

                @Override
                public int size() {
                    return values.length;
                }
            };
        }

        @Override
        public Object clone() {
            return new LinkedHashMap<>(this);
        }

        private final class Positions<T> implements Iterator<T> {
            private final java.util.function.IntFunction<T> at;
            private int next;

            Positions(java.util.function.IntFunction<T> at) {
                this.at = at;
            }

            @Override
            public boolean hasNext() {
                return next < names.length;
            }

            @Override
            public T next() {
                if (next >= names.length) {
                    throw new NoSuchElementException();
                }
                return at.apply(next++);
            }
        }

        // ---- a tuple is a value: no writes

        private static UnsupportedOperationException immutable() {
            return new UnsupportedOperationException("a CQL tuple's elements cannot be changed");
        }

        @Override
        public Object put(String key, Object value) {
            throw immutable();
        }

        @Override
        public void putAll(Map<? extends String, ?> m) {
            throw immutable();
        }

        @Override
        public Object putIfAbsent(String key, Object value) {
            throw immutable();
        }

        @Override
        public Object remove(Object key) {
            throw immutable();
        }

        @Override
        public boolean remove(Object key, Object value) {
            throw immutable();
        }

        @Override
        public void clear() {
            throw immutable();
        }

        @Override
        public Object replace(String key, Object value) {
            throw immutable();
        }

        @Override
        public boolean replace(String key, Object oldValue, Object newValue) {
            throw immutable();
        }

        @Override
        public void replaceAll(BiFunction<? super String, ? super Object, ?> function) {
            throw immutable();
        }

        @Override
        public Object computeIfAbsent(String key, Function<? super String, ?> mappingFunction) {
            throw immutable();
        }

        @Override
        public Object computeIfPresent(String key, BiFunction<? super String, ? super Object, ?> remappingFunction) {
            throw immutable();
        }

        @Override
        public Object compute(String key, BiFunction<? super String, ? super Object, ?> remappingFunction) {
            throw immutable();
        }

        @Override
        public Object merge(String key, Object value, BiFunction<? super Object, ? super Object, ?> remappingFunction) {
            throw immutable();
        }
    }
}
