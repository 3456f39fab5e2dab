package org.allcds.testfhir.containers;

import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.Slf4jLogConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The ALL CDS Hooks service as a Testcontainers container, for cds-service's integration tests.
 *
 * <p>The image is built from {@code cds-service/Dockerfile} and the one
 * {@code cds-service/target/all-cds-service-*.jar} by {@link JarImages} (reused while the jar is
 * unchanged). Ready when {@code GET /actuator/health} answers 200.
 *
 * <pre>{@code
 * Network net = Network.newNetwork();
 * TestFhirServerContainer fhir = new TestFhirServerContainer().withNetwork(net);
 * CdsServiceContainer cds = new CdsServiceContainer().withNetwork(net).dependsOn(fhir);
 * cds.start();                         // starts fhir first
 * cds.baseUrl();                       // http://localhost:<mapped>  (GET /cds-services ...)
 * // in hook requests: "fhirServer": fhir.internalFhirBaseUrl()  ->  http://fhir:8080/fhir
 * }</pre>
 *
 * <p>Locations may be overridden with the system properties {@code allcds.cdsService.jar} and
 * {@code allcds.cdsService.dockerfile}.
 */
public class CdsServiceContainer extends GenericContainer<CdsServiceContainer> {

	public static final String REPOSITORY = "all-cds/cds-service";
	public static final String NETWORK_ALIAS = "cds-service";
	public static final int PORT = 8080;
	public static final Duration STARTUP_TIMEOUT = Duration.ofMinutes(3);

	public CdsServiceContainer() {
		this(image());
	}

	public CdsServiceContainer(String imageName) {
		super(DockerImageName.parse(imageName));
		withExposedPorts(PORT);
		withNetworkAliases(NETWORK_ALIAS);
		withLogConsumer(new Slf4jLogConsumer(LoggerFactory.getLogger("cds-service")).withSeparateOutputStreams());
		waitingFor(Wait.forHttp("/actuator/health")
				.forPort(PORT)
				.forStatusCode(200)
				.withStartupTimeout(STARTUP_TIMEOUT));
	}

	/** The image name, building the image first if this jar has none yet. */
	public static String image() {
		Path module = RepoPaths.repoRoot().resolve("cds-service");
		Path dockerfile = RepoPaths.fromPropertyOr("allcds.cdsService.dockerfile", module.resolve("Dockerfile"));
		String property = System.getProperty("allcds.cdsService.jar");
		Path jar = property == null || property.isBlank()
				? RepoPaths.singleJar(module.resolve("target"), "all-cds-service-")
				: Path.of(property);
		// The Dockerfile copies target/all-cds-service-*.jar: keep the jar's own name in the context.
		return JarImages.imageFor(REPOSITORY, dockerfile, jar, "target/" + jar.getFileName());
	}

	/** Service base URL reachable from the test JVM (CDS Hooks discovery at {@code /cds-services}). */
	public String baseUrl() {
		return "http://" + getHost() + ":" + getMappedPort(PORT);
	}

	/** Service base URL reachable from other containers on the same network. */
	public String internalBaseUrl() {
		return "http://" + NETWORK_ALIAS + ":" + PORT;
	}
}
