package org.allcds.cql;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IPrimitiveType;
import org.opencds.cqf.cql.engine.runtime.Code;
import org.opencds.cqf.cql.engine.runtime.Quantity;
import org.opencds.cqf.cql.engine.runtime.Tuple;

/**
 * Turns CQL runtime values into plain Java (String, Boolean, Integer, BigDecimal, List, Map) for the layers above. A
 * FHIR resource stays the resource: a card may propose updating it (its copy, never the record's own object).
 */
public final class CqlValues {

    private CqlValues() {}

    public static Object toPlain(Object value) {
        if (value == null || value instanceof String || value instanceof Boolean || value instanceof Integer
                || value instanceof Long || value instanceof BigDecimal) {
            return value;
        }
        if (value instanceof IBaseResource) {
            return value;
        }
        if (value instanceof Tuple tuple) {
            Map<String, Object> map = new LinkedHashMap<>();
            tuple.getElements().forEach((k, v) -> map.put(k, toPlain(v)));
            return map;
        }
        if (value instanceof Iterable<?> iterable) {
            List<Object> list = new ArrayList<>();
            for (Object item : iterable) {
                list.add(toPlain(item));
            }
            return list;
        }
        if (value instanceof Quantity q) {
            return q.getValue() + (q.getUnit() == null ? "" : " " + q.getUnit());
        }
        if (value instanceof Code c) {
            return c.getSystem() + "|" + c.getCode();
        }
        if (value instanceof IPrimitiveType<?> p) {
            return p.getValueAsString();
        }
        return value.toString();
    }
}
