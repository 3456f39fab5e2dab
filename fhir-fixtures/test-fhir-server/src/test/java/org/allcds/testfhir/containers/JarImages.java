package org.allcds.testfhir.containers;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.images.builder.ImageFromDockerfile;

/**
 * Builds a Docker image from a Dockerfile plus one Spring Boot fat jar, tagged by content so that a
 * second run with the same jar reuses the image instead of rebuilding it.
 *
 * <p>The tag is the first 16 hex digits of sha256(jar bytes, Dockerfile bytes, base image name), e.g.
 * {@code all-cds/test-fhir-server:3f2a…}. Images are built with {@code deleteOnExit=false}: they stay
 * in the local Docker image store (remove old ones with {@code docker image prune} or
 * {@code docker rmi}). The build context holds only the Dockerfile and the jar, the jar placed at
 * the path the Dockerfile's {@code COPY} expects (e.g. {@code target/test-fhir-server.jar}).
 */
public final class JarImages {

	/** System property naming the base image passed as build arg {@code BASE_IMAGE}. */
	public static final String BASE_IMAGE_PROPERTY = "allcds.baseImage";

	/** Default base image: built locally by scripts/ensure-docker.sh. */
	public static final String DEFAULT_BASE_IMAGE = "all-cds/jre17:bookworm";

	private static final Logger LOG = LoggerFactory.getLogger(JarImages.class);
	private static final ConcurrentMap<String, String> RESOLVED = new ConcurrentHashMap<>();

	private JarImages() {}

	/** The base image: system property {@value #BASE_IMAGE_PROPERTY}, else {@value #DEFAULT_BASE_IMAGE}. */
	public static String baseImage() {
		String value = System.getProperty(BASE_IMAGE_PROPERTY);
		return value == null || value.isBlank() ? DEFAULT_BASE_IMAGE : value.trim();
	}

	/**
	 * Returns the name of an image built from {@code dockerfile} with {@code jar} copied into the build
	 * context at {@code jarPathInContext}; builds it only when no image with that content tag exists.
	 *
	 * @param repository image repository, e.g. {@code all-cds/test-fhir-server}
	 */
	public static String imageFor(String repository, Path dockerfile, Path jar, String jarPathInContext) {
		if (!Files.isRegularFile(jar)) {
			throw new IllegalStateException("No jar at " + jar.toAbsolutePath()
					+ ": build it first (mvn package -DskipTests in its module)");
		}
		if (!Files.isRegularFile(dockerfile)) {
			throw new IllegalStateException("No Dockerfile at " + dockerfile.toAbsolutePath());
		}
		String base = baseImage();
		String tag = repository + ":" + contentHash(jar, dockerfile, base);
		return RESOLVED.computeIfAbsent(tag, t -> {
			if (imageExists(t)) {
				LOG.info("Reusing image {} (same jar, Dockerfile and base image {})", t, base);
				return t;
			}
			long start = System.nanoTime();
			LOG.info("Building image {} from {} with base image {}", t, jar.getFileName(), base);
			String built = new ImageFromDockerfile(t, false)
					.withFileFromPath("Dockerfile", dockerfile)
					.withFileFromPath(jarPathInContext, jar)
					.withBuildArg("BASE_IMAGE", base)
					.get();
			LOG.info("Built image {} in {} ms", built, (System.nanoTime() - start) / 1_000_000);
			return t;
		});
	}

	static boolean imageExists(String name) {
		DockerClient client = DockerClientFactory.instance().client();
		try {
			client.inspectImageCmd(name).exec();
			return true;
		} catch (NotFoundException e) {
			return false;
		}
	}

	static String contentHash(Path jar, Path dockerfile, String baseImage) {
		try {
			MessageDigest digest = MessageDigest.getInstance("SHA-256");
			byte[] buffer = new byte[1 << 16];
			for (Path file : new Path[] {jar, dockerfile}) {
				try (InputStream in = Files.newInputStream(file)) {
					for (int n; (n = in.read(buffer)) > 0; ) {
						digest.update(buffer, 0, n);
					}
				}
			}
			digest.update(baseImage.getBytes(StandardCharsets.UTF_8));
			return HexFormat.of().formatHex(digest.digest()).substring(0, 16);
		} catch (IOException e) {
			throw new UncheckedIOException(e);
		} catch (NoSuchAlgorithmException e) {
			throw new IllegalStateException(e);
		}
	}
}
