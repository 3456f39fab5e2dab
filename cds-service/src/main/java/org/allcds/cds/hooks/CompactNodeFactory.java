package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Jackson's node factory with each JSON object's members in a {@link CompactObjectMap}. */
final class CompactNodeFactory extends JsonNodeFactory {

    private static final long serialVersionUID = 1L;

    static final CompactNodeFactory INSTANCE = new CompactNodeFactory();

    private CompactNodeFactory() {
        super(false); // what JsonNodeFactory.instance is
    }

    @Override
    public ObjectNode objectNode() {
        return new ObjectNode(this, new CompactObjectMap());
    }
}
