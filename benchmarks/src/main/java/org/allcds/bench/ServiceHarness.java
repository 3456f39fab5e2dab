package org.allcds.bench;

import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseJson;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.allcds.cds.AllCdsApplication;
import org.allcds.cds.cards.CardFactory;
import org.allcds.cds.evaluation.CqlEvaluationService;
import org.allcds.cds.fhirdata.PatientDataService;
import org.allcds.cds.hooks.HookHandler;
import org.allcds.cds.hooks.HookRequestParser;
import org.allcds.cds.services.ServiceCatalog;
import org.allcds.cds.services.ServiceDefinition;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The service's own beans, from its own configuration (application.yml, cds-services.yml, the demo profile),
 * in a Spring context without the web server: the objects a hook call goes through, exactly as the running
 * service builds and warms them (its Warmup runner runs too).
 */
public final class ServiceHarness implements AutoCloseable {

    public static final String SERVICE_ID = "all-disease-status";

    public final ConfigurableApplicationContext context;
    public final HookRequestParser parser;
    public final PatientDataService data;
    public final CqlEvaluationService evaluation;
    public final CardFactory cards;
    public final HookHandler handler;
    public final ServiceDefinition service;
    public final ObjectMapper json;
    private final boolean ledgerOn;

    public ServiceHarness() {
        this(false);
    }

    /**
     * @param ledger with the card ledger on (its embedded PostgreSQL in a temporary directory): each call reads the
     *               patient's already-addressed overrides and queues its cards for the writer, as a real call does
     */
    public ServiceHarness(boolean ledger) {
        this.ledgerOn = ledger;
        String dataDir;
        try {
            dataDir = java.nio.file.Files.createTempDirectory("allcds-bench-ledger").toString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        context = new SpringApplicationBuilder(AllCdsApplication.class)
                .web(WebApplicationType.NONE)
                .profiles("demo")
                .properties("logging.level.root=WARN", "logging.level.org.allcds=WARN", "all-cds.auth.enabled=false")
                .run("--all-cds.ledger.enabled=" + ledger, "--all-cds.data-dir=" + dataDir);
        parser = context.getBean(HookRequestParser.class);
        data = context.getBean(PatientDataService.class);
        evaluation = context.getBean(CqlEvaluationService.class);
        cards = context.getBean(CardFactory.class);
        handler = context.getBean(HookHandler.class);
        service = context.getBean(ServiceCatalog.class).find(SERVICE_ID).orElseThrow();
        json = context.getBean(ObjectMapper.class);
    }

    /** The whole in-process call as the controller makes it: parse the bytes, handle, write the JSON answer. */
    public byte[] call(byte[] body) throws Exception {
        // with a caller, as the controller calls it: the ledger (when on) is read and written
        CdsServiceResponseJson response = handler.handle(service, parser.parse(body), null,
                ledgerOn ? org.allcds.cds.ledger.Caller.DEMO : null);
        return json.writeValueAsBytes(response);
    }

    @Override
    public void close() {
        context.close();
    }
}
