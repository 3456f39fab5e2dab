package org.allcds.cql;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.cqframework.cql.cql2elm.CqlCompilerException;
import org.cqframework.cql.cql2elm.CqlCompilerOptions;
import org.cqframework.cql.cql2elm.CqlTranslator;
import org.cqframework.cql.cql2elm.DefaultLibrarySourceProvider;
import org.cqframework.cql.cql2elm.LibraryBuilder;
import org.cqframework.cql.cql2elm.LibraryManager;
import org.cqframework.cql.cql2elm.ModelManager;
import org.cqframework.cql.cql2elm.model.CompiledLibrary;
import org.cqframework.cql.elm.serializing.jackson.ElmJsonLibraryWriter;
import org.hl7.elm.r1.VersionedIdentifier;

/**
 * Build-time step (exec-maven-plugin, process-classes): translates every CQL library to ELM JSON,
 * with the libraries they include (FHIRHelpers), so the service never translates at run time.
 * Any translation error fails the build with the error's location.
 *
 * <p>Also writes {@code elm/index.txt} and {@code valuesets/index.txt} so the runtime can list
 * its resources from a classpath (a fat jar cannot be listed like a directory).
 */
public final class ElmCompiler {

    private ElmCompiler() {}

    /** The options the ELM is compiled with; overload signatures let the engine pick FHIRHelpers functions without guessing. */
    static CqlCompilerOptions compilerOptions() {
        return new CqlCompilerOptions(
                CqlCompilerException.ErrorSeverity.Info,
                LibraryBuilder.SignatureLevel.All,
                CqlCompilerOptions.Options.EnableLocators,
                CqlCompilerOptions.Options.EnableResultTypes,
                CqlCompilerOptions.Options.DisableListDemotion,
                CqlCompilerOptions.Options.DisableListPromotion);
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            throw new IllegalArgumentException("usage: ElmCompiler <cql source dir> <elm output dir> <valueset dir>");
        }
        Path sourceDir = Path.of(args[0]);
        Path outputDir = Path.of(args[1]);
        Path valueSetDir = Path.of(args[2]);
        List<String> written = compile(sourceDir, outputDir);
        writeIndex(valueSetDir);
        System.out.println("[ElmCompiler] wrote ELM for " + written);
    }

    static List<String> compile(Path sourceDir, Path outputDir) throws IOException {
        ModelManager modelManager = new ModelManager();
        LibraryManager libraryManager = new LibraryManager(modelManager, compilerOptions());
        libraryManager.getLibrarySourceLoader().registerProvider(new DefaultLibrarySourceProvider(sourceDir));

        List<String> problems = new ArrayList<>();
        // Main libraries come from their translators; included ones (FHIRHelpers) from the manager's cache.
        Map<VersionedIdentifier, org.hl7.elm.r1.Library> libraries = new java.util.TreeMap<>(
                java.util.Comparator.comparing(VersionedIdentifier::getId));
        List<Path> sources;
        try (Stream<Path> files = Files.list(sourceDir)) {
            sources = files.filter(p -> p.toString().endsWith(".cql")).sorted().collect(Collectors.toList());
        }
        if (sources.isEmpty()) {
            throw new IllegalStateException("no CQL libraries in " + sourceDir);
        }
        for (Path source : sources) {
            CqlTranslator translator = CqlTranslator.fromFile(source.toFile(), libraryManager);
            for (CqlCompilerException e : translator.getExceptions()) {
                if (e.getSeverity() == CqlCompilerException.ErrorSeverity.Error) {
                    problems.add(describe(source, e));
                }
            }
            if (translator.toELM() != null) {
                libraries.put(translator.toELM().getIdentifier(), translator.toELM());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("CQL translation failed:\n  " + String.join("\n  ", problems));
        }

        Files.createDirectories(outputDir);
        ElmJsonLibraryWriter writer = new ElmJsonLibraryWriter();
        List<String> names = new ArrayList<>();
        for (Map.Entry<VersionedIdentifier, CompiledLibrary> entry : libraryManager.getCompiledLibraries().entrySet()) {
            libraries.putIfAbsent(entry.getKey(), entry.getValue().getLibrary());
        }
        for (Map.Entry<VersionedIdentifier, org.hl7.elm.r1.Library> entry : libraries.entrySet()) {
            VersionedIdentifier id = entry.getKey();
            String fileName = id.getId() + (id.getVersion() == null ? "" : "-" + id.getVersion()) + ".json";
            Files.writeString(outputDir.resolve(fileName), writer.writeAsString(entry.getValue()), StandardCharsets.UTF_8);
            names.add(fileName);
        }
        names.sort(String::compareTo);
        Files.writeString(outputDir.resolve("index.txt"), String.join("\n", names) + "\n", StandardCharsets.UTF_8);
        return names;
    }

    private static void writeIndex(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            String index = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".json"))
                    .sorted()
                    .collect(Collectors.joining("\n", "", "\n"));
            Files.writeString(dir.resolve("index.txt"), index, StandardCharsets.UTF_8);
        }
    }

    private static String describe(Path source, CqlCompilerException e) {
        var locator = e.getLocator();
        String where = locator == null ? "" : ":" + locator.getStartLine() + ":" + locator.getStartChar();
        return source.getFileName() + where + " " + e.getMessage();
    }
}
