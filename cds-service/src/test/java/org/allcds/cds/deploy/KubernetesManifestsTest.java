package org.allcds.cds.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.test.context.ActiveProfiles;

/**
 * The Kubernetes manifests under {@code deploy/kubernetes}, checked as CI can without a cluster: every document of
 * every file parsed strictly into the fabric8 Kubernetes model (a misspelled or misplaced field fails, as it would
 * be dropped by a lenient client), the probes' paths answered by this service's actuator on the port the manifest
 * names, the ConfigMap's keys and the container's environment variables real configuration keys of the service
 * (its application.yml or Spring Boot's own metadata), the references between the objects resolved, the heap sized
 * inside the memory limit, and the Secret holding placeholders only.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("test")
class KubernetesManifestsTest {

    static final Path MANIFESTS = Path.of("..", "deploy", "kubernetes");
    static final Path SERVICE_DEFAULTS = Path.of("src", "main", "resources", "application.yml");

    /** The model classes of the kinds the manifests may hold. */
    static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
            "ConfigMap", ConfigMap.class, "Secret", Secret.class, "Service", Service.class,
            "Deployment", Deployment.class, "StatefulSet", StatefulSet.class,
            "HorizontalPodAutoscaler", HorizontalPodAutoscaler.class);

    /**
     * Unknown fields fail. fabric8's model classes keep them in {@code additionalProperties} through a
     * {@code @JsonAnySetter}; with that setter ignored, FAIL_ON_UNKNOWN_PROPERTIES applies to every object.
     */
    static final ObjectMapper STRICT = new ObjectMapper(new YAMLFactory())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
            .configure(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY, true)
            .setAnnotationIntrospector(new JacksonAnnotationIntrospector() {
                @Override
                public Boolean hasAnySetter(Annotated annotated) {
                    return Boolean.FALSE;
                }
            });

    static List<HasMetadata> objects;

    @LocalServerPort
    int port;

    @BeforeAll
    static void parseManifests() throws IOException {
        objects = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> listing = Files.list(MANIFESTS)) {
            files = listing.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
        assertThat(files).as("manifests in %s", MANIFESTS.toAbsolutePath()).isNotEmpty();
        for (Path file : files) {
            try (MappingIterator<JsonNode> documents = STRICT.readerFor(JsonNode.class).readValues(file.toFile())) {
                while (documents.hasNext()) {
                    JsonNode document = documents.next();
                    if (document != null && !document.isNull() && !document.isEmpty()) {
                        objects.add(parse(file, document));
                    }
                }
            }
        }
    }

    static HasMetadata parse(Path file, JsonNode document) throws IOException {
        String kind = document.path("kind").asText();
        Class<? extends HasMetadata> type = KINDS.get(kind);
        assertThat(type).as("%s: kind %s", file, kind).isNotNull();
        assertThat(document.path("apiVersion").asText()).as("%s: apiVersion of %s", file, kind)
                .isEqualTo(HasMetadata.getApiVersion(type));
        HasMetadata object = STRICT.treeToValue(document, type);
        assertThat(object.getMetadata().getName()).as("%s: a %s's name", file, kind).isNotBlank();
        return object;
    }

    @Test
    void everyManifestParsesStrictlyAndTheDeploymentsPartsAreThere() {
        assertThat(objects).extracting(HasMetadata::getKind).contains("Deployment", "Service", "ConfigMap", "Secret",
                "StatefulSet", "HorizontalPodAutoscaler");
    }

    @Test
    void aMisspelledFieldIsRefused() {
        String manifest = """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: x}
                spec:
                  template:
                    spec:
                      containers:
                        - name: x
                          readinesProbe: {httpGet: {path: /actuator/health/readiness, port: 8080}}
                """;
        assertThatThrownBy(() -> parse(Path.of("inline"), STRICT.readTree(manifest)))
                .isInstanceOf(UnrecognizedPropertyException.class).hasMessageContaining("readinesProbe");
    }

    @Test
    void probesAskThisServicesActuatorOnItsPort() throws Exception {
        Container container = serviceContainer();
        int serverPort = serviceDefaults().path("server").path("port").asInt();
        JsonNode configured = configuredSettings();
        if (configured.at("/server/port").isInt()) {
            serverPort = configured.at("/server/port").asInt();
        }
        assertThat(serviceDefaults().at("/management/server/port").isMissingNode())
                .as("the actuator is on the service's own port").isTrue();
        ContainerPort http = container.getPorts().stream().filter(p -> "http".equals(p.getName())).findFirst().orElseThrow();
        assertThat(http.getContainerPort()).isEqualTo(serverPort);

        assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/actuator/health/readiness");
        assertThat(container.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/actuator/health/liveness");
        HttpClient client = HttpClient.newHttpClient();
        for (Probe probe : new Probe[] {container.getReadinessProbe(), container.getLivenessProbe(), container.getStartupProbe()}) {
            HTTPGetAction get = probe.getHttpGet();
            assertThat(get.getPort().getStrVal() != null ? get.getPort().getStrVal() : String.valueOf(get.getPort().getIntVal()))
                    .as("probe port").isIn("http", String.valueOf(serverPort));
            // the path, asked of this service (here on a random port): UP
            HttpResponse<String> answer = client.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + get.getPath()))
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(answer.statusCode()).as(get.getPath()).isEqualTo(200);
            assertThat(STRICT.readTree(answer.body()).path("status").asText()).as(get.getPath()).isEqualTo("UP");
        }
        Service service = only(Service.class, "all-cds-service");
        assertThat(service.getSpec().getPorts()).allSatisfy(p -> assertThat(p.getTargetPort().getStrVal()).isEqualTo("http"));
        assertThat(service.getSpec().getSelector())
                .isEqualTo(only(Deployment.class, "all-cds-service").getSpec().getSelector().getMatchLabels());
        assertThat(only(HorizontalPodAutoscaler.class, "all-cds-service").getSpec().getScaleTargetRef().getName())
                .isEqualTo("all-cds-service");
    }

    @Test
    void configMapKeysAndEnvironmentVariablesAreTheServicesConfigurationKeys() throws IOException {
        Set<String> known = knownKeys();
        List<String> configured = new ArrayList<>();
        flatten("", configuredSettings(), configured);
        assertThat(configured).isNotEmpty();
        assertThat(configured).as("ConfigMap keys unknown to the service").allSatisfy(key -> assertThat(known).contains(key));

        Container container = serviceContainer();
        for (EnvVar env : container.getEnv()) {
            if (env.getName().equals("JAVA_OPTS")) {
                continue; // the image's entry point passes it to java
            }
            SystemEnvironmentPropertySource source = new SystemEnvironmentPropertySource("env", Map.of(env.getName(), "x"));
            ConfigurationPropertySource bound = ConfigurationPropertySource.from(source);
            assertThat(known.stream().anyMatch(key -> bound.getConfigurationProperty(ConfigurationPropertyName.of(key)) != null))
                    .as("environment variable %s sets a configuration key of the service", env.getName()).isTrue();
        }
        // the settings file is where the service reads it
        String location = env(container, "SPRING_CONFIG_ADDITIONAL_LOCATION").getValue();
        String mountPath = container.getVolumeMounts().stream().filter(m -> m.getName().equals("config")).findFirst()
                .orElseThrow().getMountPath();
        assertThat(location).isEqualTo("optional:file:" + mountPath + "/");
    }

    @Test
    void secretsAreReferencedByNameAndHoldPlaceholdersOnly() {
        Secret secret = only(Secret.class, "all-cds-secrets");
        assertThat(secret.getStringData()).isNotEmpty();
        assertThat(secret.getData()).as("no base64 values (they hide real secrets)").isNullOrEmpty();
        assertThat(secret.getStringData().values()).allSatisfy(v -> assertThat(v).startsWith("REPLACE-ME"));
        List<EnvVar> envs = new ArrayList<>(serviceContainer().getEnv());
        envs.addAll(only(StatefulSet.class, "all-cds-postgres").getSpec().getTemplate().getSpec().getContainers().get(0).getEnv());
        for (EnvVar env : envs) {
            if (env.getValueFrom() != null && env.getValueFrom().getSecretKeyRef() != null) {
                assertThat(env.getValueFrom().getSecretKeyRef().getName()).isEqualTo("all-cds-secrets");
                assertThat(secret.getStringData()).containsKey(env.getValueFrom().getSecretKeyRef().getKey());
            }
        }
        assertThat(env(serviceContainer(), "SPRING_DATASOURCE_PASSWORD").getValueFrom().getSecretKeyRef().getKey())
                .isEqualTo("datasource-password");
        assertThat(env(serviceContainer(), "ALL_CDS_ANALYTICS_TOKEN").getValueFrom().getSecretKeyRef().getKey())
                .isEqualTo("analytics-token");
    }

    @Test
    void theHeapFitsInTheMemoryLimitWithRoomForTheRest() {
        Container container = serviceContainer();
        BigDecimal limit = Quantity.getAmountInBytes(container.getResources().getLimits().get("memory"));
        assertThat(Quantity.getAmountInBytes(container.getResources().getRequests().get("memory"))).isEqualTo(limit);
        Matcher percent = Pattern.compile("-XX:MaxRAMPercentage=([0-9.]+)").matcher(env(container, "JAVA_OPTS").getValue());
        assertThat(percent.find()).isTrue();
        double heap = limit.doubleValue() * Double.parseDouble(percent.group(1)) / 100;
        double mib = 1024 * 1024;
        // measured under load (README, "Performance"): 960 MB heap, 942 MB RSS; the rest of the JVM needs room beside it
        assertThat(heap / mib).as("heap MiB").isGreaterThanOrEqualTo(900);
        assertThat((limit.doubleValue() - heap) / mib).as("MiB beside the heap").isGreaterThanOrEqualTo(450);
        assertThat(Quantity.getAmountInBytes(container.getResources().getRequests().get("cpu")).doubleValue())
                .as("CPU request, cores").isGreaterThanOrEqualTo(1);
    }

    @Test
    void theManifestStartsTheServiceOnTheSameCollectorAsTheImageAndTheScripts() throws Exception {
        // three places start the service; the figures in the README are of one collector setting
        Matcher script = Pattern.compile("(?m)^gc=\"([^\"]+)\"$")
                .matcher(Files.readString(Path.of("..", "scripts", "prepare-service.sh")));
        Matcher image = Pattern.compile("(?m)^ARG JVM_COLLECTOR=\"([^\"]+)\"$")
                .matcher(Files.readString(Path.of("Dockerfile")));
        assertThat(script.find()).as("gc= in scripts/prepare-service.sh").isTrue();
        assertThat(image.find()).as("ARG JVM_COLLECTOR in cds-service/Dockerfile").isTrue();
        assertThat(image.group(1)).isEqualTo(script.group(1));
        assertThat(env(serviceContainer(), "JAVA_OPTS").getValue()).contains(script.group(1));
    }

    // ---------------------------------------------------------------------------------------------------------

    static Container serviceContainer() {
        return only(Deployment.class, "all-cds-service").getSpec().getTemplate().getSpec().getContainers().get(0);
    }

    static EnvVar env(Container container, String name) {
        return container.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " in " + container.getEnv()));
    }

    static <T extends HasMetadata> T only(Class<T> type, String name) {
        List<T> found = objects.stream().filter(type::isInstance).map(type::cast)
                .filter(o -> name.equals(o.getMetadata().getName())).toList();
        assertThat(found).as("%s %s", type.getSimpleName(), name).hasSize(1);
        return found.get(0);
    }

    static JsonNode serviceDefaults() throws IOException {
        return STRICT.readTree(SERVICE_DEFAULTS.toFile());
    }

    /** The application.yml the ConfigMap holds. */
    static JsonNode configuredSettings() throws IOException {
        String file = only(ConfigMap.class, "all-cds-config").getData().get("application.yml");
        assertThat(file).as("application.yml in the ConfigMap").isNotBlank();
        return STRICT.readTree(file);
    }

    /** Dotted keys of a settings tree; a list or an empty map is one value. */
    static void flatten(String prefix, JsonNode node, List<String> keys) {
        if (node.isObject() && !node.isEmpty()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                flatten(prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey(), field.getValue(), keys);
            }
        } else {
            keys.add(prefix);
        }
    }

    /** The service's own keys (its application.yml) and Spring Boot's (the metadata its jars carry). */
    static Set<String> knownKeys() throws IOException {
        List<String> keys = new ArrayList<>();
        flatten("", serviceDefaults(), keys);
        Set<String> known = new TreeSet<>(keys);
        Enumeration<URL> metadata = KubernetesManifestsTest.class.getClassLoader()
                .getResources("META-INF/spring-configuration-metadata.json");
        while (metadata.hasMoreElements()) {
            try (InputStream in = metadata.nextElement().openStream()) {
                new ObjectMapper().readTree(in).path("properties").forEach(p -> known.add(p.path("name").asText()));
            }
        }
        assertThat(known).contains("server.port", "spring.datasource.url", "all-cds.ledger.retention");
        return known;
    }
}
