package org.allcds.cql;

import java.lang.reflect.Field;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import org.opencds.cqf.cql.engine.execution.Cache;
import org.opencds.cqf.cql.engine.execution.State;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two bookkeeping costs of the CQL engine (3.29) that this service never uses, removed per engine.
 * Both reach engine internals by reflection; if a later engine changes them, the engine's own
 * behaviour is kept and a warning is logged once: the answers are the same either way, only slower.
 *
 * <ul>
 *   <li>Function cache: the engine maps each FunctionRef ELM node to its FunctionDef in a HashMap
 *       whose key hashCode walks the node's whole subtree on every call (a third of the CQL time at
 *       300 results, since every FHIRHelpers conversion is a call). ELM nodes are loaded once and
 *       never copied, so identity is the right key.</li>
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

    private EngineTuning() {}

    static void apply(State state, Cache cache) {
        try {
            if (FUNCTION_CACHE != null) {
                FUNCTION_CACHE.set(cache, new IdentityHashMap<>((Map<?, ?>) FUNCTION_CACHE.get(cache)));
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
}
