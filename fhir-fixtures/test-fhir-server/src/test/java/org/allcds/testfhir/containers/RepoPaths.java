package org.allcds.testfhir.containers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Finds the repository root and module build outputs from any module's working directory. */
public final class RepoPaths {

	private RepoPaths() {}

	/**
	 * The repository root: the nearest directory, from {@code user.dir} upwards, that holds both
	 * {@code pom.xml} and {@code fhir-fixtures/test-fhir-server/Dockerfile}.
	 */
	public static Path repoRoot() {
		Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
		for (Path d = dir; d != null; d = d.getParent()) {
			if (Files.isRegularFile(d.resolve("pom.xml"))
					&& Files.isRegularFile(d.resolve("fhir-fixtures/test-fhir-server/Dockerfile"))) {
				return d;
			}
		}
		throw new IllegalStateException("No repository root above " + dir);
	}

	/** A path given by a system property, else {@code fallback}. */
	public static Path fromPropertyOr(String property, Path fallback) {
		String value = System.getProperty(property);
		return value == null || value.isBlank() ? fallback : Path.of(value);
	}

	/**
	 * The one Spring Boot jar in {@code targetDir} named {@code prefix*.jar}, leaving out
	 * {@code -tests}, {@code -sources}, {@code -javadoc} and {@code .original} files.
	 */
	public static Path singleJar(Path targetDir, String prefix) {
		try (Stream<Path> files = Files.list(targetDir)) {
			List<Path> jars = files.filter(p -> {
						String n = p.getFileName().toString();
						return n.startsWith(prefix) && n.endsWith(".jar")
								&& !n.endsWith("-tests.jar") && !n.endsWith("-sources.jar")
								&& !n.endsWith("-javadoc.jar");
					})
					.toList();
			if (jars.size() != 1) {
				throw new IllegalStateException("Expected one " + prefix + "*.jar in " + targetDir + ", found " + jars
						+ ": run mvn package -DskipTests in that module first");
			}
			return jars.get(0);
		} catch (IOException e) {
			throw new UncheckedIOException("Cannot list " + targetDir + ": build the module first", e);
		}
	}
}
