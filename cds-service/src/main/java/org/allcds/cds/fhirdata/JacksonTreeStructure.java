package org.allcds.cds.fhirdata;

import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.json.BaseJsonLikeArray;
import ca.uhn.fhir.parser.json.BaseJsonLikeObject;
import ca.uhn.fhir.parser.json.BaseJsonLikeValue;
import ca.uhn.fhir.parser.json.BaseJsonLikeWriter;
import ca.uhn.fhir.parser.json.JsonLikeStructure;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Reader;
import java.io.Writer;
import java.util.Iterator;

/**
 * HAPI's view of a Jackson tree for parsing, answering as HAPI's own {@code JacksonStructure} does,
 * with two costs removed. HAPI's parser asks each JSON object for {@code "_" + name} after every
 * property (the primitive-extension companion). Each ask hashes a freshly built string; under load
 * that was about 7 % of the service's CPU. An object here knows whether it has any {@code _} key at
 * all and answers those asks without a lookup when it has none. HAPI's array view caches items in a
 * map keyed by boxed index; here an item is wrapped when asked for.
 *
 * <p>Parsing from an existing tree only: loading text and writing are HAPI's {@code JacksonStructure}'s
 * job and are refused here. {@code JacksonTreeStructureTest} checks every fixture resource parses the
 * same through both.
 */
final class JacksonTreeStructure implements JsonLikeStructure {

    private final ObjectNode root;

    JacksonTreeStructure(ObjectNode root) {
        this.root = root;
    }

    @Override
    public BaseJsonLikeObject getRootObject() {
        return new TreeObject(root);
    }

    @Override
    public JsonLikeStructure getInstance() {
        throw new UnsupportedOperationException("a view of one tree");
    }

    @Override
    public void load(Reader theReader) throws DataFormatException {
        throw new UnsupportedOperationException("a view of an already parsed tree");
    }

    @Override
    public void load(Reader theReader, boolean allowArray) throws DataFormatException {
        throw new UnsupportedOperationException("a view of an already parsed tree");
    }

    @Override
    public BaseJsonLikeWriter getJsonLikeWriter() {
        throw new UnsupportedOperationException("parsing only");
    }

    @Override
    public BaseJsonLikeWriter getJsonLikeWriter(Writer writer) {
        throw new UnsupportedOperationException("parsing only");
    }

    /** A JSON value as the text HAPI's parser hands to a primitive's {@code setValueAsString}. */
    static String scalarText(JsonNode node) {
        if (node instanceof DecimalNode) {
            return node.decimalValue().toPlainString();
        }
        return node.asText();
    }

    private static final class TreeObject extends BaseJsonLikeObject {
        private final ObjectNode node;
        private int underscoreKeys = -1; // -1: not counted yet

        TreeObject(ObjectNode node) {
            this.node = node;
        }

        @Override
        public Object getValue() {
            return null;
        }

        @Override
        public Iterator<String> keyIterator() {
            return node.fieldNames();
        }

        @Override
        public BaseJsonLikeValue get(String key) {
            if (!key.isEmpty() && key.charAt(0) == '_' && !hasUnderscoreKeys()) {
                return null;
            }
            JsonNode child = node.get(key);
            return child == null ? null : new TreeValue(child);
        }

        private boolean hasUnderscoreKeys() {
            if (underscoreKeys < 0) {
                int n = 0;
                for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
                    String name = names.next();
                    if (!name.isEmpty() && name.charAt(0) == '_') {
                        n++;
                    }
                }
                underscoreKeys = n;
            }
            return underscoreKeys > 0;
        }
    }

    private static final class TreeArray extends BaseJsonLikeArray {
        private final ArrayNode node;

        TreeArray(ArrayNode node) {
            this.node = node;
        }

        @Override
        public Object getValue() {
            return null;
        }

        @Override
        public int size() {
            return node.size();
        }

        @Override
        public BaseJsonLikeValue get(int index) {
            JsonNode child = node.get(index);
            return child == null ? null : new TreeValue(child);
        }
    }

    /** A property's value: the same answers as HAPI's Jackson value, method by method. */
    private static final class TreeValue extends BaseJsonLikeValue {
        private final JsonNode node;
        private BaseJsonLikeObject object;
        private BaseJsonLikeArray array;

        TreeValue(JsonNode node) {
            this.node = node;
        }

        @Override
        public Object getValue() {
            if (node.isValueNode()) {
                if (node.isNumber()) {
                    return node.numberValue();
                }
                if (node.isBoolean()) {
                    return node.booleanValue();
                }
                return node.asText();
            }
            return null;
        }

        @Override
        public ValueType getJsonType() {
            return switch (node.getNodeType()) {
                case NULL, MISSING -> ValueType.NULL;
                case OBJECT -> ValueType.OBJECT;
                case ARRAY -> ValueType.ARRAY;
                default -> ValueType.SCALAR;
            };
        }

        @Override
        public ScalarType getDataType() {
            if (node.isValueNode()) {
                if (node.isNumber()) {
                    return ScalarType.NUMBER;
                }
                if (node.isTextual()) {
                    return ScalarType.STRING;
                }
                if (node.isBoolean()) {
                    return ScalarType.BOOLEAN;
                }
            }
            return null;
        }

        @Override
        public BaseJsonLikeArray getAsArray() {
            if (node.isArray() && array == null) {
                array = new TreeArray((ArrayNode) node);
            }
            return array;
        }

        @Override
        public BaseJsonLikeObject getAsObject() {
            if (node.isObject() && object == null) {
                object = new TreeObject((ObjectNode) node);
            }
            return object;
        }

        @Override
        public Number getAsNumber() {
            return node.numberValue();
        }

        @Override
        public String getAsString() {
            return scalarText(node);
        }

        @Override
        public boolean getAsBoolean() {
            if (node.isValueNode() && node.isBoolean()) {
                return node.asBoolean();
            }
            return super.getAsBoolean();
        }
    }
}
