package org.allcds.cql;

import java.lang.reflect.Field;
import java.util.IdentityHashMap;
import java.util.Map;
import org.opencds.cqf.cql.engine.execution.Cache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine (3.29) caches "which FunctionDef does this FunctionRef call" in a HashMap keyed by the
 * FunctionRef ELM node, whose generated hashCode walks the node's whole subtree on every call:
 * profiled, that was a third of the CQL time on a 300-result record, since every FHIRHelpers
 * conversion is a function call. ELM nodes are loaded once and never copied, so identity is the
 * right key; this swaps the engine's map for an IdentityHashMap (same contents, O(1) keys).
 * If a later engine changes the field, the engine's own map is kept and a warning logged once.
 */
final class IdentityFunctionCache {

    private static final Logger log = LoggerFactory.getLogger(IdentityFunctionCache.class);
    private static final Field FUNCTION_CACHE = find();

    private IdentityFunctionCache() {}

    private static Field find() {
        try {
            Field f = Cache.class.getDeclaredField("functionCache");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("CQL engine function cache not found ({}); evaluating with the engine's own map", e.toString());
            return null;
        }
    }

    static void install(Cache cache) {
        if (FUNCTION_CACHE == null) {
            return;
        }
        try {
            FUNCTION_CACHE.set(cache, new IdentityHashMap<>((Map<?, ?>) FUNCTION_CACHE.get(cache)));
        } catch (ReflectiveOperationException e) {
            log.warn("could not install the identity function cache: {}", e.toString());
        }
    }

    static boolean active() {
        return FUNCTION_CACHE != null;
    }
}
