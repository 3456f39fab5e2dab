package org.allcds.cql;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.cqframework.cql.cql2elm.CqlTranslator;
import org.cqframework.cql.cql2elm.DefaultLibrarySourceProvider;
import org.cqframework.cql.cql2elm.LibraryManager;
import org.cqframework.cql.cql2elm.ModelManager;
import org.hl7.elm.r1.Library;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Observation codes the data layer reads are those the ELM retrieves: by value set and by direct code. */
class RetrievedCodesTest {

    private static final ValueSetRepository VALUE_SETS = ValueSetRepository.load(FhirContext.forR4Cached(), null);
    private static final String MARROW_BLASTS = "http://allcds.org/fhir/ValueSet/marrow-blasts";

    @Test
    void aDirectCodeRetrieveWhoseCodeIsInNoValueSetIsRead(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("RetrieveProbe.cql"), """
                library RetrieveProbe version '1.0.0'
                using FHIR version '4.0.1'
                include FHIRHelpers version '4.0.1'
                codesystem "LOINC": 'http://loinc.org'
                valueset "Marrow Blasts": '%s'
                code "Sodium": '2951-2' from "LOINC"
                code "Creatinine": '2160-0' from "LOINC"
                context Patient
                define "Sodium Results": [Observation: "Sodium"]
                define "Blasts": [Observation: "Marrow Blasts"]
                define "Not an Observation": [Condition: "Creatinine"]
                """.formatted(MARROW_BLASTS));
        LibraryManager libraries = new LibraryManager(new ModelManager(), ElmCompiler.compilerOptions());
        libraries.getLibrarySourceLoader().registerProvider(new DefaultLibrarySourceProvider(dir));
        CqlTranslator translator = CqlTranslator.fromFile(dir.resolve("RetrieveProbe.cql").toFile(), libraries);
        assertThat(translator.getErrors()).isEmpty();
        Map<String, Library> byId = new LinkedHashMap<>();
        byId.put("RetrieveProbe", translator.toELM());
        libraries.getCompiledLibraries().forEach((id, compiled) -> byId.putIfAbsent(id.getId(), compiled.getLibrary()));

        Set<String> read = RetrievedCodes.of("Observation", byId, VALUE_SETS);

        assertThat(VALUE_SETS.isKnownCode("http://loinc.org", "2951-2")).as("sodium is in no value set").isFalse();
        assertThat(read).contains("http://loinc.org|2951-2");
        assertThat(read).containsAll(VALUE_SETS.members(MARROW_BLASTS).keySet());
        assertThat(read).doesNotContain("http://loinc.org|2160-0"); // retrieved as a Condition, not an Observation
    }

    /** ALLCommon's two direct-code retrieves (the marrow reports) are read whether or not a value set repeats them. */
    @Test
    void theProjectsDirectCodeRetrievesAreRead() {
        Set<String> read = CqlLogic.load(VALUE_SETS).observationCodesRead();
        assertThat(read).contains("http://loinc.org|48807-2", "http://loinc.org|33721-2");
        assertThat(read).containsAll(VALUE_SETS.members(MARROW_BLASTS).keySet());
    }
}
