package org.allcds.testfhir.containers;

import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.Slf4jLogConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The ALL CDS test FHIR server (HAPI FHIR JPA, R4, H2 in memory) as a Testcontainers container.
 *
 * <p>The image is built from {@code fhir-fixtures/test-fhir-server/Dockerfile} and
 * {@code target/test-fhir-server.jar} by {@link JarImages} (reused while the jar is unchanged).
 * Ready when {@code GET /fhir/metadata} answers 200.
 *
 * <pre>{@code
 * Network net = Network.newNetwork();
 * TestFhirServerContainer fhir = new TestFhirServerContainer().withNetwork(net); // alias "fhir"
 * fhir.start();
 * fhir.fhirBaseUrl();          // from the test JVM: http://localhost:<mapped>/fhir
 * fhir.internalFhirBaseUrl();  // from another container on net: http://fhir:8080/fhir
 * }</pre>
 *
 * <p>Locations may be overridden with the system properties {@code allcds.testFhirServer.jar} and
 * {@code allcds.testFhirServer.dockerfile}; by default they are found under the repository root.
 */
public class TestFhirServerContainer extends GenericContainer<TestFhirServerContainer> {

	public static final String REPOSITORY = "all-cds/test-fhir-server";
	public static final String NETWORK_ALIAS = "fhir";
	public static final int PORT = 8080;
	public static final String FHIR_PATH = "/fhir";
	public static final Duration STARTUP_TIMEOUT = Duration.ofMinutes(4);

	public TestFhirServerContainer() {
		this(image());
	}

	public TestFhirServerContainer(String imageName) {
		super(DockerImageName.parse(imageName));
		withExposedPorts(PORT);
		withNetworkAliases(NETWORK_ALIAS);
		withLogConsumer(new Slf4jLogConsumer(LoggerFactory.getLogger("test-fhir-server")).withSeparateOutputStreams());
		waitingFor(Wait.forHttp(FHIR_PATH + "/metadata")
				.forPort(PORT)
				.forStatusCode(200)
				.withReadTimeout(Duration.ofSeconds(10))
				.withStartupTimeout(STARTUP_TIMEOUT));
	}

	/** The image name, building the image first if this jar has none yet. */
	public static String image() {
		Path module = RepoPaths.repoRoot().resolve("fhir-fixtures/test-fhir-server");
		Path jar = RepoPaths.fromPropertyOr("allcds.testFhirServer.jar", module.resolve("target/test-fhir-server.jar"));
		Path dockerfile = RepoPaths.fromPropertyOr("allcds.testFhirServer.dockerfile", module.resolve("Dockerfile"));
		return JarImages.imageFor(REPOSITORY, dockerfile, jar, "target/test-fhir-server.jar");
	}

	/** FHIR base URL reachable from the test JVM. */
	public String fhirBaseUrl() {
		return "http://" + getHost() + ":" + getMappedPort(PORT) + FHIR_PATH;
	}

	/** FHIR base URL reachable from other containers on the same network. */
	public String internalFhirBaseUrl() {
		return "http://" + NETWORK_ALIAS + ":" + PORT + FHIR_PATH;
	}
}
