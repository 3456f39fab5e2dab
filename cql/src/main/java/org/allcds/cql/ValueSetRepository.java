package org.allcds.cql;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.hl7.fhir.r4.model.ValueSet;

/**
 * The value sets the CQL names, expanded once at start-up: the project's defaults (classpath
 * {@code valuesets/}) plus any site files (same {@code url}: their codes are added) from an extra
 * directory. Immutable afterwards, so every request can share it.
 */
public final class ValueSetRepository {

    /** A code of a value set, as {@code system|code}. */
    public record Member(String system, String code, String display) {
        public String key() {
            return ValueSetRepository.key(system, code);
        }
    }

    private final Map<String, Map<String, Member>> membersByUrl;
    /** Every member's system, by code: a lookup per coding with no key string built (every prefetched lab asks). */
    private final Map<String, Set<String>> systemsByCode;

    private ValueSetRepository(Map<String, Map<String, Member>> membersByUrl) {
        Map<String, Map<String, Member>> frozen = new LinkedHashMap<>();
        membersByUrl.forEach((url, members) -> frozen.put(url, Collections.unmodifiableMap(new LinkedHashMap<>(members))));
        this.membersByUrl = Collections.unmodifiableMap(frozen);
        this.systemsByCode = frozen.values().stream()
                .flatMap(m -> m.values().stream())
                .collect(Collectors.groupingBy(Member::code, Collectors.mapping(Member::system, Collectors.toUnmodifiableSet())));
    }

    public static String key(String system, String code) {
        return system + "|" + code;
    }

    /** Loads the default value sets from the classpath and, when given, adds those of {@code extraDir}. */
    public static ValueSetRepository load(FhirContext fhirContext, Path extraDir) {
        IParser parser = fhirContext.newJsonParser();
        Map<String, Map<String, Member>> byUrl = new LinkedHashMap<>();
        for (String name : ClasspathIndex.list("valuesets")) {
            try (InputStream in = ClasspathIndex.open("valuesets/" + name)) {
                add(byUrl, parser.parseResource(ValueSet.class, in), "valuesets/" + name);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (extraDir != null) {
            if (!Files.isDirectory(extraDir)) {
                throw new IllegalArgumentException("value set directory does not exist: " + extraDir);
            }
            try (Stream<Path> files = Files.list(extraDir)) {
                for (Path file : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                    add(byUrl, parser.parseResource(ValueSet.class, Files.readString(file, StandardCharsets.UTF_8)), file.toString());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new ValueSetRepository(byUrl);
    }

    private static void add(Map<String, Map<String, Member>> byUrl, ValueSet valueSet, String origin) {
        if (!valueSet.hasUrl()) {
            throw new IllegalArgumentException("ValueSet without url in " + origin);
        }
        Map<String, Member> members = byUrl.computeIfAbsent(valueSet.getUrl(), u -> new LinkedHashMap<>());
        for (ValueSet.ConceptSetComponent include : valueSet.getCompose().getInclude()) {
            if (include.hasValueSet() || include.hasFilter() || !include.hasConcept()) {
                // Intensional definitions need a terminology server; the service must run without one.
                throw new IllegalArgumentException(origin + ": only enumerated concepts are supported (" + valueSet.getUrl() + ")");
            }
            for (ValueSet.ConceptReferenceComponent concept : include.getConcept()) {
                Member m = new Member(include.getSystem(), concept.getCode(), concept.getDisplay());
                members.putIfAbsent(m.key(), m);
            }
        }
        for (ValueSet.ValueSetExpansionContainsComponent c : valueSet.getExpansion().getContains()) {
            Member m = new Member(c.getSystem(), c.getCode(), c.getDisplay());
            members.putIfAbsent(m.key(), m);
        }
    }

    public boolean contains(String valueSetUrl, String system, String code) {
        Map<String, Member> members = membersByUrl.get(valueSetUrl);
        return members != null && members.containsKey(key(system, code));
    }

    /** The members of a value set; an unknown url is an error, not an empty set (it would silently match nothing). */
    public Map<String, Member> members(String valueSetUrl) {
        Map<String, Member> members = membersByUrl.get(valueSetUrl);
        if (members == null) {
            throw new IllegalArgumentException("unknown value set " + valueSetUrl);
        }
        return members;
    }

    public Set<String> urls() {
        return membersByUrl.keySet();
    }

    /** True when any value set holds this code: used to skip resources no CQL definition can read. */
    public boolean isKnownCode(String system, String code) {
        Set<String> systems = code == null ? null : systemsByCode.get(code);
        return systems != null && system != null && systems.contains(system);
    }

    public List<Member> allMembers() {
        return membersByUrl.values().stream().flatMap(m -> m.values().stream()).distinct().toList();
    }
}
