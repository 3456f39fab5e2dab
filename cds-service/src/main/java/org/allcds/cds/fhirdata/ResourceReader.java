package org.allcds.cds.fhirdata;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IJsonLikeParser;
import ca.uhn.fhir.parser.LenientErrorHandler;
import ca.uhn.fhir.parser.json.jackson.JacksonStructure;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.allcds.cds.problems.RequestProblem;
import java.util.function.Supplier;
import org.hl7.fhir.r4.model.Resource;

/**
 * Turns one JSON resource (already a Jackson tree) into a HAPI R4 resource without printing it
 * back to text: the plain shapes with {@link DirectResourceReader}, any other with HAPI's parser. Unknown elements are tolerated (EHRs add them); invalid values are errors.
 */
final class ResourceReader {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ResourceReader.class);

    private final IJsonLikeParser parser;
    private final boolean direct;

    /**
     * One reader per thread and Bundle: HAPI parsers are cheap but not meant to be shared across threads.
     *
     * @param direct read plain Observations with {@link DirectResourceReader} (false: HAPI's parser reads
     *     everything, the reference the tests hold it to). Never when the context maps profiles to classes:
     *     HAPI's parser then re-types a resource by its meta.profile, which the direct reader does not.
     */
    ResourceReader(FhirContext fhirContext, boolean direct) {
        this.parser = (IJsonLikeParser) fhirContext.newJsonParser()
                .setParserErrorHandler(new LenientErrorHandler(false).setErrorOnInvalidValue(true));
        this.direct = direct && readsDirectly(fhirContext);
    }

    /** False when the context maps profiles to classes: HAPI's parser then re-types a resource by its meta.profile. */
    static boolean readsDirectly(FhirContext fhirContext) {
        return !fhirContext.hasDefaultTypeForProfile();
    }

    /** @param where names the resource in an error message; asked for only when there is one */
    <T extends Resource> T read(Class<T> type, JsonNode json, Supplier<String> where) {
        if (!(json instanceof ObjectNode object)) {
            throw RequestProblem.badRequest("invalid-resource", where.get() + " is not a JSON object");
        }
        requireFhirId(object, where);
        if (direct) {
            Resource plain = DirectResourceReader.read(type, object);
            if (plain != null) {
                return type.cast(plain);
            }
        }
        try {
            JacksonStructure tree = new JacksonStructure(); // HAPI's own view of a Jackson tree: no text in between
            tree.setNativeObject(object);
            return parser.parseResource(type, tree);
        } catch (DataFormatException | IllegalArgumentException | ClassCastException e) {
            throw RequestProblem.badRequest("invalid-resource", where.get() + " is not a valid FHIR R4 " + type.getSimpleName()
                    + ": " + firstLine(e.getMessage()));
        } catch (RuntimeException e) {
            // HAPI's parser failing on input it does not expect (a member named "" reads charAt(0)): still the
            // request's fault, a 400 that says so, not a 500
            log.warn("HAPI's parser failed on {}: {}", where.get(), e.toString());
            throw RequestProblem.badRequest("invalid-resource", where.get() + " is not a valid FHIR R4 " + type.getSimpleName()
                    + ": HAPI's parser could not read it (is there a member without a name?)");
        }
    }

    /**
     * The id as the sender wrote it: HAPI's parser makes "../../Patient/x" or "Observation/1/_history/2" the plain
     * "x" or "1", which card evidence would then name (and the record would count as that resource).
     */
    private static void requireFhirId(ObjectNode resource, Supplier<String> where) {
        JsonNode id = resource.get("id");
        if (id != null && !(id.isTextual() && FhirIds.isId(id.textValue()))) {
            throw RequestProblem.badRequest("invalid-resource", where.get()
                    + " has an id that is not a FHIR id ([A-Za-z0-9-.]{1,64}, not . or ..)");
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int nl = message.indexOf('\n');
        String line = nl < 0 ? message : message.substring(0, nl);
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
    }
}
