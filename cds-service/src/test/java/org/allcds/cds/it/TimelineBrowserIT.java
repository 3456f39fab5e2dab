package org.allcds.cds.it;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.allcds.cql.ValueSetRepository;
import org.allcds.fixtures.FhirServerLoader;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.FixtureDates;
import org.allcds.testfhir.containers.TestFhirServerContainer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;

/**
 * The disease-course timeline (static SMART app at {@code /timeline/}) in a real browser: the test FHIR server
 * (container) holds a relapse fixture and an empty patient, the service runs in-process, and headless Chromium
 * (Debian's {@code chromium} and {@code chromedriver}) opens the app with {@code fhirServiceUrl} and
 * {@code patientId}, as the card's link does, plus the remission / relapse dates the card cites.
 *
 * <p>The plotted data is read from {@code window.timelineData} (not from pixels) and compared with the fixture:
 * every marrow blast, ANC, platelet and hemoglobin result (dates and values; this fixture reports in the chart's
 * units), the chemotherapy courses, the CSF findings and the markers. A screenshot goes to
 * {@code target/timeline-combined-relapse.png}.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "all-cds.warmup.rounds=1")
@ActiveProfiles("demo")
class TimelineBrowserIT {

    static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    static final String CHROMIUM = "/usr/bin/chromium";
    static final String RELAPSE_SCENARIO = "combined-relapse";
    static final String EMPTY_PATIENT = "fx-timeline-no-data";
    static final String VALUE_SETS = "http://allcds.org/fhir/ValueSet/";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** The browser's calendar date (the app ends ongoing courses there); the fixtures are materialized on it too. */
    static final LocalDate TODAY = LocalDate.now(ZoneId.systemDefault());

    static TestFhirServerContainer fhir;
    static Fixture relapse;
    static ChromeDriverService driverService;
    static WebDriver browser;
    static ValueSetRepository valueSets;

    @LocalServerPort
    int port;

    @BeforeAll
    static void startFhirServerAndBrowser() throws Exception {
        relapse = FixtureCatalog.find(RELAPSE_SCENARIO).orElseThrow();
        valueSets = ValueSetRepository.load(FhirContext.forR4Cached(), null);
        fhir = new TestFhirServerContainer();
        fhir.start();
        new FhirServerLoader(HTTP, URI.create(fhir.fhirBaseUrl())).load(relapse, TODAY);
        putPatientWithNoData();

        driverService = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER))
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1300", "--lang=en-US");
        browser = new ChromeDriver(driverService, options);
    }

    @AfterAll
    static void stopBrowserAndFhirServer() {
        if (browser != null) {
            browser.quit();
        }
        if (driverService != null) {
            driverService.stop();
        }
        if (fhir != null) {
            fhir.stop();
        }
    }

    @Test
    void relapseFixtureIsPlottedWithItsCountsBlastsBandsAndMarkers() throws Exception {
        // The dates the relapse card cites for this fixture: the CR marrow (end of induction, 1.2 % blasts)
        // and the first relapse finding (the positive CSF 18 days ago).
        String remission = FixtureDates.resolve("today-2y-1mo", TODAY).toString();
        String relapseDate = FixtureDates.resolve("today-18d", TODAY).toString();
        JsonNode timeline = open(relapse.patientId(), fhir.fhirBaseUrl(),
                "&remission=" + remission + "&relapse=" + relapseDate);

        assertThat(timeline.path("status").asText()).as("timelineData %s", timeline).isEqualTo("ready");
        List<JsonNode> resources = relapse.resources(TODAY);
        for (String[] kind : new String[][] {
                {"marrowBlasts", "marrow-blasts"}, {"anc", "anc"}, {"platelets", "platelets"},
                {"hemoglobin", "hemoglobin"}, {"csfWbc", "csf-wbc"}, {"csfBlasts", "csf-blasts"}}) {
            List<String> expected = observations(resources, kind[1]).stream()
                    .map(o -> o.path("effectiveDateTime").asText() + " " + number(o.path("valueQuantity").path("value")))
                    .sorted().toList();
            List<String> plotted = new ArrayList<>();
            timeline.path("series").path(kind[0]).forEach(p -> plotted.add(p.path("date").asText() + " " + number(p.path("value"))));
            assertThat(expected).as("fixture results for %s", kind[1]).isNotEmpty();
            assertThat(plotted).as("plotted %s", kind[0]).isEqualTo(expected);
        }
        assertThat(timeline.path("series").path("marrowBlasts").findValuesAsText("unit")).containsOnly("%");
        assertThat(timeline.path("series").path("anc").findValuesAsText("unit")).containsOnly("10^9/L");
        assertThat(timeline.path("series").path("hemoglobin").findValuesAsText("unit")).containsOnly("g/dL");

        List<String> cytology = new ArrayList<>();
        timeline.path("series").path("csfCytology").forEach(p -> cytology.add(p.path("date").asText() + " " + p.path("result").asText()));
        assertThat(cytology).containsExactly(
                FixtureDates.resolve("today-2y-2mo", TODAY) + " negative", relapseDate + " positive");
        List<String> mrd = new ArrayList<>();
        timeline.path("series").path("mrd").forEach(p -> mrd.add(p.path("date").asText() + " " + p.path("result").asText()));
        assertThat(mrd).containsExactly(remission + " negative");

        List<String> courses = new ArrayList<>();
        timeline.path("bands").path("chemotherapy").forEach(b -> courses.add(b.path("start").asText() + ".." + b.path("end").asText()));
        List<String> fixtureCourses = procedures(resources, "chemotherapy").stream()
                .map(p -> p.path("performedPeriod").path("start").asText() + ".." + p.path("performedPeriod").path("end").asText())
                .sorted().toList();
        assertThat(courses).as("chemotherapy bands").isEqualTo(fixtureCourses).hasSize(2);
        assertThat(timeline.path("bands").path("transplant")).isEmpty();

        List<String> markers = new ArrayList<>();
        timeline.path("markers").forEach(m -> markers.add(m.path("kind").asText() + " " + m.path("date").asText()));
        assertThat(markers).containsExactly(
                "diagnosis " + FixtureDates.resolve("today-2y-2mo", TODAY),
                "remission " + remission,
                "relapse " + relapseDate);

        assertThat(browser.findElement(By.id("chart")).isDisplayed()).isTrue();
        assertThat(browser.findElement(By.id("recorded")).getText()).contains("clinical status relapse");
        Path shot = Path.of("target", "timeline-" + RELAPSE_SCENARIO + ".png");
        Files.copy(((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath(), shot,
                StandardCopyOption.REPLACE_EXISTING);
        System.out.println("[TimelineBrowserIT] screenshot " + shot.toAbsolutePath());
    }

    @Test
    void patientWithNoDataGetsAClearMessageNotAnEmptyChart() throws Exception {
        JsonNode timeline = open(EMPTY_PATIENT, fhir.fhirBaseUrl(), "&relapse=" + TODAY);

        assertThat(timeline.path("status").asText()).as("timelineData %s", timeline).isEqualTo("empty");
        assertThat(browser.findElement(By.id("message")).getText())
                .contains("No leukemia results, treatments or ALL diagnoses are recorded for this patient");
        assertThat(browser.findElement(By.id("chart")).isDisplayed()).as("chart shown").isFalse();
    }

    @Test
    void unreachableFhirServerGetsAClearErrorNotAChart() throws Exception {
        String closed;
        try (ServerSocket socket = new ServerSocket(0)) {
            closed = "http://localhost:" + socket.getLocalPort() + "/fhir";
        }
        JsonNode timeline = open(relapse.patientId(), closed, "");

        assertThat(timeline.path("status").asText()).as("timelineData %s", timeline).isEqualTo("error");
        assertThat(browser.findElement(By.id("message")).getText()).startsWith("The FHIR server could not be read");
        assertThat(browser.findElement(By.id("chart")).isDisplayed()).as("chart shown").isFalse();
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Opens the app for a patient and waits until it has published its result. */
    private JsonNode open(String patientId, String fhirBase, String extraQuery) throws Exception {
        String url = "http://localhost:" + port + "/timeline/index.html?fhirServiceUrl="
                + URLEncoder.encode(fhirBase, StandardCharsets.UTF_8) + "&patientId=" + patientId + extraQuery;
        browser.get(url);
        JavascriptExecutor js = (JavascriptExecutor) browser;
        new WebDriverWait(browser, Duration.ofSeconds(60)).until(
                d -> js.executeScript("return document.body.getAttribute('data-timeline-status')") != null);
        return JSON.readTree((String) js.executeScript("return JSON.stringify(window.timelineData)"));
    }

    private static List<JsonNode> observations(List<JsonNode> resources, String valueSet) {
        return ofType(resources, "Observation", valueSet);
    }

    private static List<JsonNode> procedures(List<JsonNode> resources, String valueSet) {
        return ofType(resources, "Procedure", valueSet);
    }

    private static List<JsonNode> ofType(List<JsonNode> resources, String type, String valueSet) {
        Set<String> codes = valueSets.members(VALUE_SETS + valueSet).keySet();
        return resources.stream()
                .filter(r -> type.equals(r.path("resourceType").asText()))
                .filter(r -> {
                    for (JsonNode c : r.path("code").path("coding")) {
                        if (codes.contains(ValueSetRepository.key(c.path("system").asText(), c.path("code").asText()))) {
                            return true;
                        }
                    }
                    return false;
                })
                .toList();
    }

    /** 12 and 12.0 print alike. */
    private static String number(JsonNode value) {
        return value.decimalValue().stripTrailingZeros().toPlainString();
    }

    private static void putPatientWithNoData() throws Exception {
        String patient = "{\"resourceType\":\"Patient\",\"id\":\"" + EMPTY_PATIENT + "\","
                + "\"name\":[{\"family\":\"Nodata\",\"given\":[\"Nora\"]}],\"gender\":\"female\"}";
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(fhir.fhirBaseUrl() + "/Patient/" + EMPTY_PATIENT))
                        .header("Content-Type", "application/fhir+json")
                        .PUT(HttpRequest.BodyPublishers.ofString(patient))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isBetween(200, 201);
    }
}
