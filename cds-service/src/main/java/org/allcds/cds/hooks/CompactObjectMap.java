package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.AbstractCollection;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Collection;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The members of one JSON object of a hook request, in arrays (names, values, hashes), in the order they were read. A
 * FHIR object has a handful of members; Jackson's default {@code LinkedHashMap} spends a table and a
 * 40-byte entry per member on them, which was about half of all the bytes a 10,000-resource call
 * allocated, and the garbage collector copies it for as long as the call lives. Lookups compare the
 * names one by one, by identity first (Jackson interns member names, and callers ask with constants),
 * then by hash and equality.
 *
 * <p>Beyond {@value #SMALL} members (never seen in FHIR, but a request is untrusted input) the object
 * moves to a {@code LinkedHashMap}, so no object costs quadratic time. A {@link Map} in every respect
 * {@code ObjectNode} uses: order kept, {@code put} answers the value it replaced (which is how
 * duplicate members are found), views that remove.
 */
final class CompactObjectMap extends AbstractMap<String, JsonNode> {

    static final int SMALL = 16;

    private String[] names = new String[4];
    private JsonNode[] values = new JsonNode[4];
    private int[] hashes = new int[4];
    private int size;
    private int modifications;
    private LinkedHashMap<String, JsonNode> large; // set once the object outgrows the arrays

    private int indexOf(Object name) {
        if (name == null) {
            return -1;
        }
        int hash = name.hashCode(); // cached in the String: a name not present costs int compares, not equals
        for (int i = 0; i < size; i++) {
            if (names[i] == name || (hashes[i] == hash && name.equals(names[i]))) {
                return i;
            }
        }
        return -1;
    }

    /** True once the object has outgrown the arrays. */
    boolean isLarge() {
        return large != null;
    }

    @Override
    public int size() {
        return large != null ? large.size() : size;
    }

    @Override
    public boolean isEmpty() {
        return size() == 0;
    }

    @Override
    public boolean containsKey(Object name) {
        return large != null ? large.containsKey(name) : indexOf(name) >= 0;
    }

    @Override
    public JsonNode get(Object name) {
        if (large != null) {
            return large.get(name);
        }
        int i = indexOf(name);
        return i < 0 ? null : values[i];
    }

    @Override
    public JsonNode put(String name, JsonNode value) {
        if (large != null) {
            return large.put(name, value);
        }
        int i = indexOf(name);
        if (i >= 0) {
            JsonNode old = values[i];
            values[i] = value;
            return old;
        }
        if (size == SMALL) {
            large = new LinkedHashMap<>(SMALL * 4);
            for (int j = 0; j < size; j++) {
                large.put(names[j], values[j]);
            }
            names = null;
            values = null;
            hashes = null;
            size = 0;
            return large.put(name, value);
        }
        if (size == names.length) {
            names = Arrays.copyOf(names, size * 2);
            values = Arrays.copyOf(values, size * 2);
            hashes = Arrays.copyOf(hashes, size * 2);
        }
        names[size] = name;
        values[size] = value;
        hashes[size] = name.hashCode();
        size++;
        modifications++;
        return null;
    }

    @Override
    public JsonNode remove(Object name) {
        if (large != null) {
            return large.remove(name);
        }
        int i = indexOf(name);
        if (i < 0) {
            return null;
        }
        JsonNode old = values[i];
        removeAt(i);
        return old;
    }

    private void removeAt(int i) {
        System.arraycopy(names, i + 1, names, i, size - i - 1);
        System.arraycopy(values, i + 1, values, i, size - i - 1);
        System.arraycopy(hashes, i + 1, hashes, i, size - i - 1);
        size--;
        names[size] = null;
        values[size] = null;
        modifications++;
    }

    @Override
    public void clear() {
        if (large != null) {
            large.clear();
            return;
        }
        Arrays.fill(names, 0, size, null);
        Arrays.fill(values, 0, size, null);
        size = 0;
        modifications++;
    }

    @Override
    public void forEach(BiConsumer<? super String, ? super JsonNode> action) {
        if (large != null) {
            large.forEach(action);
            return;
        }
        int expected = modifications;
        for (int i = 0; i < size; i++) {
            action.accept(names[i], values[i]);
        }
        if (expected != modifications) {
            throw new ConcurrentModificationException();
        }
    }

    @Override
    public Set<Entry<String, JsonNode>> entrySet() {
        if (large != null) {
            return large.entrySet();
        }
        return new AbstractSet<>() {
            @Override
            public Iterator<Entry<String, JsonNode>> iterator() {
                return new Members<>() {
                    @Override
                    Entry<String, JsonNode> at(int i) {
                        return new Member(i);
                    }
                };
            }

            @Override
            public int size() {
                return CompactObjectMap.this.size();
            }
        };
    }

    @Override
    public Set<String> keySet() {
        if (large != null) {
            return large.keySet();
        }
        return new AbstractSet<>() {
            @Override
            public Iterator<String> iterator() {
                return new Members<>() {
                    @Override
                    String at(int i) {
                        return names[i];
                    }
                };
            }

            @Override
            public int size() {
                return CompactObjectMap.this.size();
            }

            @Override
            public boolean contains(Object name) {
                return containsKey(name);
            }

            @Override
            public boolean remove(Object name) {
                boolean present = containsKey(name);
                CompactObjectMap.this.remove(name);
                return present;
            }
        };
    }

    @Override
    public Collection<JsonNode> values() {
        if (large != null) {
            return large.values();
        }
        return new AbstractCollection<>() {
            @Override
            public Iterator<JsonNode> iterator() {
                return new Members<>() {
                    @Override
                    JsonNode at(int i) {
                        return values[i];
                    }
                };
            }

            @Override
            public int size() {
                return CompactObjectMap.this.size();
            }
        };
    }

    /** Walks the members in order; {@code remove} takes out the last one returned. */
    private abstract class Members<T> implements Iterator<T> {
        private int next;
        private int last = -1;
        private int expected = modifications;

        abstract T at(int i);

        @Override
        public boolean hasNext() {
            return next < size;
        }

        @Override
        public T next() {
            if (expected != modifications || large != null) {
                throw new ConcurrentModificationException();
            }
            if (next >= size) {
                throw new NoSuchElementException();
            }
            last = next++;
            return at(last);
        }

        @Override
        public void remove() {
            if (last < 0) {
                throw new IllegalStateException();
            }
            if (expected != modifications) {
                throw new ConcurrentModificationException();
            }
            removeAt(last);
            next = last;
            last = -1;
            expected = modifications;
        }
    }

    /** A member by position, as a map entry: valid until the object changes shape. */
    private final class Member implements Entry<String, JsonNode> {
        private final int i;

        Member(int i) {
            this.i = i;
        }

        @Override
        public String getKey() {
            return names[i];
        }

        @Override
        public JsonNode getValue() {
            return values[i];
        }

        @Override
        public JsonNode setValue(JsonNode value) {
            JsonNode old = values[i];
            values[i] = value;
            return old;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Entry<?, ?> e && java.util.Objects.equals(getKey(), e.getKey())
                    && java.util.Objects.equals(getValue(), e.getValue());
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hashCode(getKey()) ^ java.util.Objects.hashCode(getValue());
        }

        @Override
        public String toString() {
            return getKey() + "=" + getValue();
        }
    }
}
