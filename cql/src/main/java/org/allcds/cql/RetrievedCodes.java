package org.allcds.cql;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.cqframework.cql.elm.tracking.Trackable;
import org.cqframework.cql.elm.visiting.FunctionalElmVisitor;
import org.hl7.elm.r1.Code;
import org.hl7.elm.r1.CodeDef;
import org.hl7.elm.r1.CodeRef;
import org.hl7.elm.r1.CodeSystemDef;
import org.hl7.elm.r1.CodeSystemRef;
import org.hl7.elm.r1.IncludeDef;
import org.hl7.elm.r1.Library;
import org.hl7.elm.r1.Retrieve;
import org.hl7.elm.r1.ValueSetDef;
import org.hl7.elm.r1.ValueSetRef;

/**
 * The codes (keys {@code system|code}) of one resource type that the ELM retrieves: every code of each value set a
 * retrieve of that type names, and every code it names directly. Worked out from the loaded ELM, so the data
 * layer's screen of what is worth reading follows the CQL: a new retrieve cannot be silently starved of its data.
 */
final class RetrievedCodes {

    private RetrievedCodes() {}

    /**
     * @throws IllegalStateException a retrieve of the type filters by codes this cannot name (an expression
     *     other than value set and code references): its codes cannot be known at start-up
     */
    static Set<String> of(String resourceType, Map<String, Library> librariesById, ValueSetRepository valueSets) {
        Set<String> keys = new LinkedHashSet<>();
        for (Library library : librariesById.values()) {
            for (Retrieve retrieve : retrieves(library)) {
                if (retrieve.getDataType() == null || !resourceType.equals(retrieve.getDataType().getLocalPart())
                        || retrieve.getCodes() == null) {
                    continue;
                }
                List<Trackable> named = new ArrayList<>();
                named.addAll(nodes(retrieve.getCodes(), ValueSetRef.class));
                named.addAll(nodes(retrieve.getCodes(), CodeRef.class));
                named.addAll(nodes(retrieve.getCodes(), Code.class));
                if (named.isEmpty()) {
                    throw new IllegalStateException("a retrieve of " + resourceType + " in " + library.getIdentifier().getId()
                            + " filters by codes that are neither a value set nor a code reference");
                }
                for (Trackable t : named) {
                    if (t instanceof ValueSetRef ref) {
                        Library in = referenced(library, ref.getLibraryName(), librariesById);
                        keys.addAll(valueSets.members(valueSetDef(in, ref.getName()).getId()).keySet());
                    } else if (t instanceof CodeRef ref) {
                        Library in = referenced(library, ref.getLibraryName(), librariesById);
                        CodeDef def = in.getCodes().getDef().stream().filter(c -> c.getName().equals(ref.getName()))
                                .findFirst().orElseThrow();
                        keys.add(ValueSetRepository.key(systemUrl(in, def.getCodeSystem(), librariesById), def.getId()));
                    } else if (t instanceof Code code) {
                        keys.add(ValueSetRepository.key(systemUrl(library, code.getSystem(), librariesById), code.getCode()));
                    }
                }
            }
        }
        return Set.copyOf(keys);
    }

    private static <N> List<N> nodes(Trackable root, Class<N> type) {
        List<N> found = new ArrayList<>();
        FunctionalElmVisitor<Void, List<N>> visitor = FunctionalElmVisitor.from((node, into) -> {
            if (type.isInstance(node)) {
                into.add(type.cast(node));
            }
            return null;
        }, (a, b) -> null);
        visitor.visitElement((org.hl7.elm.r1.Element) root, found);
        return found;
    }

    private static List<Retrieve> retrieves(Library library) {
        List<Retrieve> found = new ArrayList<>();
        FunctionalElmVisitor<Void, List<Retrieve>> visitor = FunctionalElmVisitor.from((node, into) -> {
            if (node instanceof Retrieve r) {
                into.add(r);
            }
            return null;
        }, (a, b) -> null);
        visitor.visitLibrary(library, found);
        return found;
    }

    private static Library referenced(Library from, String alias, Map<String, Library> librariesById) {
        if (alias == null) {
            return from;
        }
        IncludeDef include = from.getIncludes().getDef().stream().filter(i -> alias.equals(i.getLocalIdentifier()))
                .findFirst().orElseThrow();
        return librariesById.get(include.getPath());
    }

    private static ValueSetDef valueSetDef(Library library, String name) {
        return library.getValueSets().getDef().stream().filter(v -> v.getName().equals(name)).findFirst().orElseThrow();
    }

    private static String systemUrl(Library library, CodeSystemRef ref, Map<String, Library> librariesById) {
        Library in = referenced(library, ref.getLibraryName(), librariesById);
        CodeSystemDef def = in.getCodeSystems().getDef().stream().filter(c -> c.getName().equals(ref.getName()))
                .findFirst().orElseThrow();
        return def.getId();
    }
}
