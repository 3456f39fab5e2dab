package org.allcds.cds.hooks;

import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServicesJson;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import org.allcds.cds.ledger.CardLedger;
import org.allcds.cds.ledger.Caller;
import org.allcds.cds.ledger.LedgerMetrics;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.cds.security.CdsHooksAuthFilter;
import org.allcds.cds.security.LogText;
import org.allcds.cds.services.ServiceCatalog;
import org.allcds.cds.services.ServiceDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestAttribute;
import org.springframework.web.bind.annotation.RestController;

/** The CDS Hooks 2.0 HTTP surface: discovery, hook calls, feedback. */
@RestController
public class CdsHooksController {

    private static final Logger log = LoggerFactory.getLogger(CdsHooksController.class);

    private final ServiceCatalog catalog;
    private final HookRequestParser parser;
    private final HookHandler handler;
    private final FeedbackReader feedbackReader;
    private final long maxRequestBytes;
    private final CardLedger ledger;
    private final LedgerMetrics metrics;

    public CdsHooksController(ServiceCatalog catalog, HookRequestParser parser, HookHandler handler,
            FeedbackReader feedbackReader, @Value("${all-cds.http.max-request-bytes:10485760}") long maxRequestBytes,
            CardLedger ledger, LedgerMetrics metrics) {
        this.ledger = ledger;
        this.metrics = metrics;
        this.catalog = catalog;
        this.parser = parser;
        this.handler = handler;
        this.feedbackReader = feedbackReader;
        this.maxRequestBytes = maxRequestBytes;
    }

    @GetMapping(path = "/cds-services", produces = MediaType.APPLICATION_JSON_VALUE)
    public CdsServicesJson discovery() {
        CdsServicesJson services = new CdsServicesJson();
        for (ServiceDefinition s : catalog.all()) {
            CdsServiceJson json = new CdsServiceJson().setId(s.id()).setHook(s.hook()).setTitle(s.title())
                    .setDescription(s.description());
            s.prefetch().forEach((key, def) -> json.addPrefetch(key, def.query()));
            services.addService(json);
        }
        return services;
    }

    @PostMapping(path = "/cds-services/{id}", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    public CdsServiceResponseJson hook(@PathVariable("id") String id, HttpServletRequest http,
            @RequestAttribute(name = CdsHooksAuthFilter.ISSUER_ATTRIBUTE, required = false) String issuer,
            @RequestAttribute(name = CdsHooksAuthFilter.SUBJECT_ATTRIBUTE, required = false) String subject) {
        ServiceDefinition service = service(id);
        long start = System.nanoTime();
        int status = 500;
        try {
            HookRequest request = parser.parse(body(http));
            CdsServiceResponseJson response = handler.handle(service, request, issuer, new Caller(issuer, subject));
            status = 200;
            return response;
        } catch (RequestProblem problem) {
            status = problem.status().value();
            throw problem;
        } finally {
            metrics.hookCall(service.id(), status, System.nanoTime() - start);
        }
    }

    @PostMapping(path = "/cds-services/{id}/feedback", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    public Map<String, Object> feedback(@PathVariable("id") String id, HttpServletRequest http,
            @RequestAttribute(name = CdsHooksAuthFilter.ISSUER_ATTRIBUTE, required = false) String issuer,
            @RequestAttribute(name = CdsHooksAuthFilter.SUBJECT_ATTRIBUTE, required = false) String subject) {
        service(id);
        FeedbackRequest feedback = feedbackReader.read(parser.readTree(body(http)));
        ledger.feedback(id, new Caller(issuer, subject), feedback);
        // An audit signal for the team (which cards clinicians act on); it changes no decision. One line per
        // call, every value escaped and capped; the clinicians' comments (free text) are not logged.
        log.info("feedback service={} issuer={} items={} accepted={} overridden={} outcomes={}",
                LogText.quoted(id, 64), LogText.quoted(issuer, 200), feedback.items().size(),
                feedback.count(FeedbackRequest.Outcome.ACCEPTED), feedback.count(FeedbackRequest.Outcome.OVERRIDDEN),
                LogText.quoted(outcomes(feedback), 8_000));
        return Map.of();
    }

    /** Each item as card:outcome[:suggestions taken | :override reason], comma-separated. */
    private static String outcomes(FeedbackRequest feedback) {
        StringBuilder out = new StringBuilder();
        for (FeedbackRequest.Item item : feedback.items()) {
            out.append(out.isEmpty() ? "" : ",").append(item.card()).append(':').append(item.outcome().name().toLowerCase());
            if (item.outcome() == FeedbackRequest.Outcome.ACCEPTED) {
                out.append(':').append(item.acceptedSuggestions().size());
            } else if (item.overrideReason() != null && item.overrideReason().reason() != null) {
                out.append(':').append(item.overrideReason().reason().code());
            }
        }
        return out.toString();
    }

    private ServiceDefinition service(String id) {
        return catalog.find(id).orElseThrow(() -> new RequestProblem(HttpStatus.NOT_FOUND, "unknown-service",
                "no CDS service '" + id + "'; GET /cds-services lists them"));
    }

    /** The body, bounded: a declared or actual size over the limit is a 413 before anything is parsed. */
    private byte[] body(HttpServletRequest http) {
        long declared = http.getContentLengthLong();
        if (declared > maxRequestBytes) {
            throw tooLarge();
        }
        try (InputStream in = http.getInputStream()) {
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxRequestBytes + 1));
            if (bytes.length > maxRequestBytes) {
                throw tooLarge();
            }
            return bytes;
        } catch (IOException e) {
            throw RequestProblem.badRequest("malformed-json", "request body could not be read");
        }
    }

    private RequestProblem tooLarge() {
        return new RequestProblem(HttpStatus.PAYLOAD_TOO_LARGE, "request-too-large",
                "request body is larger than " + maxRequestBytes + " bytes");
    }
}
