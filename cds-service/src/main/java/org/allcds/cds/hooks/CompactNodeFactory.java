package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;

/**
 * Jackson's node factory with each JSON object's members in a {@link CompactObjectMap}, and each array's
 * items in a list that starts with one slot: most FHIR arrays (codings, categories) hold one item, and
 * Jackson's default list takes ten.
 */
final class CompactNodeFactory extends JsonNodeFactory {

    private static final long serialVersionUID = 1L;

    static final CompactNodeFactory INSTANCE = new CompactNodeFactory();

    private CompactNodeFactory() {
        super(true); // decimals exact, as written (trailing zeros are the written precision)
    }

    @Override
    public ObjectNode objectNode() {
        return new ObjectNode(this, new CompactObjectMap());
    }

    @Override
    public ArrayNode arrayNode() {
        return new ArrayNode(this, new ArrayList<>(1));
    }
}
