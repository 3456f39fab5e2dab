package org.allcds.cql;

import java.lang.reflect.Field;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.hl7.elm.r1.FunctionDef;
import org.hl7.elm.r1.FunctionRef;
import org.hl7.elm.r1.VersionedIdentifier;
import org.opencds.cqf.cql.engine.execution.Cache;
import org.opencds.cqf.cql.engine.execution.ExpressionResult;
import org.opencds.cqf.cql.engine.execution.State;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bookkeeping costs of the CQL engine (3.29) that this service does not need, removed per engine.
 * Both reach engine internals by reflection; if a later engine changes them, the engine's own
 * behaviour is kept and a warning is logged once: the answers are the same either way, only slower.
 *
 * <ul>
 *   <li>Function cache: the engine maps each FunctionRef ELM node to its FunctionDef in a HashMap
 *       whose key hashCode walks the node's whole subtree on every call (a third of the CQL time at
 *       300 results, since every FHIRHelpers conversion is a call). ELM nodes are loaded once and
 *       never copied, so identity is the right key; and since the ELM carries signatures, the
 *       resolution depends on the ELM alone, so one map serves every engine of a {@link CqlLogic}
 *       instead of each request resolving its calls again.</li>
 *   <li>Expression cache: per library, keyed by VersionedIdentifier, whose JAXB hashCode runs on
 *       every definition reference. The engine asks with the same identifier objects each time, so
 *       an identity check in front of the map answers almost every lookup.</li>
 *   <li>Evaluated resources: the engine records every retrieved resource in a set per expression,
 *       and copies the whole set up the call stack on every reference to a cached definition, which
 *       grows with (references x resources): quadratic in the record. It serves measure reporting;
 *       the cards name their evidence from the CQL itself, so the sets are discarded.</li>
 * </ul>
 */
final class EngineTuning {

    private static final Logger log = LoggerFactory.getLogger(EngineTuning.class);
    private static final Field FUNCTION_CACHE = field(Cache.class, "functionCache");
    private static final Field EVALUATED_RESOURCES = field(State.class, "evaluatedResourceStack");
    private static final Field EXPRESSIONS = field(Cache.class, "expressions");

    private EngineTuning() {}

    static void apply(State state, Cache cache, SharedFunctionCache functions) {
        try {
            if (FUNCTION_CACHE != null) {
                FUNCTION_CACHE.set(cache, functions);
            }
            if (EXPRESSIONS != null) {
                EXPRESSIONS.set(cache, new LibraryExpressionCaches());
            }
            if (EVALUATED_RESOURCES != null) {
                int depth = ((Collection<?>) EVALUATED_RESOURCES.get(state)).size();
                EVALUATED_RESOURCES.set(state, new DiscardingStack(depth));
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("CQL engine tuning not applied: {}", e.toString());
        }
    }

    private static Field field(Class<?> owner, String name) {
        try {
            Field f = owner.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("CQL engine field {}.{} not found ({}); running without that tuning", owner.getSimpleName(), name, e);
            return null;
        }
    }

    /** A set that keeps nothing. */
    private static final class DiscardingSet extends HashSet<Object> {
        @Override
        public boolean add(Object o) {
            return false;
        }

        @Override
        public boolean addAll(Collection<?> c) {
            return false;
        }
    }

    /** The engine's evaluated-resource stack, where every frame is a set that keeps nothing. */
    private static final class DiscardingStack extends ArrayDeque<HashSet<Object>> {
        private static final DiscardingSet NOTHING = new DiscardingSet();

        DiscardingStack(int depth) {
            for (int i = 0; i < depth; i++) {
                super.push(NOTHING);
            }
        }

        @Override
        public void push(HashSet<Object> ignored) {
            super.push(NOTHING);
        }

        @Override
        public boolean add(HashSet<Object> ignored) {
            return super.add(NOTHING);
        }

        @Override
        public void addFirst(HashSet<Object> ignored) {
            super.addFirst(NOTHING);
        }
    }

    /**
     * FunctionRef -> FunctionDef for every engine of one {@link CqlLogic}, by node identity. Written a
     * few hundred times (the first calls of each function reference), then only read: copy on write,
     * lock-free reads.
     */
    static final class SharedFunctionCache extends AbstractMap<FunctionRef, FunctionDef> {
        private volatile IdentityHashMap<FunctionRef, FunctionDef> map = new IdentityHashMap<>();

        @Override
        public FunctionDef get(Object key) {
            return map.get(key);
        }

        @Override
        public boolean containsKey(Object key) {
            return map.containsKey(key);
        }

        @Override
        public synchronized FunctionDef put(FunctionRef key, FunctionDef value) {
            IdentityHashMap<FunctionRef, FunctionDef> copy = new IdentityHashMap<>(map);
            FunctionDef previous = copy.put(key, value);
            map = copy;
            return previous;
        }

        @Override
        public Set<Entry<FunctionRef, FunctionDef>> entrySet() {
            return java.util.Collections.unmodifiableMap(map).entrySet();
        }
    }

    /** The engine's per-library expression caches, with the few libraries' maps remembered by identity. */
    private static final class LibraryExpressionCaches extends LinkedHashMap<VersionedIdentifier, Map<String, ExpressionResult>> {
        private final VersionedIdentifier[] keys = new VersionedIdentifier[4];
        private final Object[] values = new Object[4];
        private int next;

        @Override
        @SuppressWarnings("unchecked")
        public Map<String, ExpressionResult> computeIfAbsent(VersionedIdentifier key,
                Function<? super VersionedIdentifier, ? extends Map<String, ExpressionResult>> create) {
            for (int i = 0; i < keys.length; i++) {
                if (keys[i] == key) {
                    return (Map<String, ExpressionResult>) values[i];
                }
            }
            Map<String, ExpressionResult> value = super.computeIfAbsent(key, create);
            keys[next] = key;
            values[next] = value;
            next = (next + 1) % keys.length;
            return value;
        }

        @Override
        public void clear() {
            java.util.Arrays.fill(keys, null);
            java.util.Arrays.fill(values, null);
            super.clear();
        }
    }
}
