package org.allcds.cds.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.LocalDate;
import java.util.List;
import org.allcds.cds.hooks.HookHandler;
import org.allcds.cds.hooks.HookRequestParser;
import org.allcds.cds.services.ServiceCatalog;
import org.allcds.cds.services.ServiceDefinition;
import org.allcds.cql.ValueSetRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.stereotype.Component;

/**
 * Runs every service end to end on a synthetic record before the service reports ready, so the
 * first EHR call does not pay for class loading, JIT and HAPI's lazy model scans (seconds, cold).
 */
@Component
public class Warmup implements ApplicationRunner {

    private static final Logger log = LoggerFactory.getLogger(Warmup.class);

    private final ServiceCatalog catalog;
    private final HookRequestParser parser;
    private final HookHandler handler;
    private final ValueSetRepository valueSets;
    private final ObjectMapper json = new ObjectMapper();
    private final int rounds;

    public Warmup(ServiceCatalog catalog, HookRequestParser parser, HookHandler handler, ValueSetRepository valueSets,
            @org.springframework.beans.factory.annotation.Value("${all-cds.warmup.rounds:30}") int rounds) {
        this.rounds = rounds;
        this.catalog = catalog;
        this.parser = parser;
        this.handler = handler;
        this.valueSets = valueSets;
    }

    @Override
    public void run(ApplicationArguments args) throws Exception {
        long start = System.nanoTime();
        for (ServiceDefinition service : catalog.all()) {
            byte[] body = json.writeValueAsBytes(syntheticRequest(service));
            for (int i = 0; i < rounds; i++) {
                handler.handle(service, parser.parse(body), null, null);
            }
        }
        log.info("warm-up done in {} ms ({} rounds per service); ready", (System.nanoTime() - start) / 1_000_000, rounds);
    }

    /** A patient with one resource per known code, so every retrieve and code path runs once. */
    private ObjectNode syntheticRequest(ServiceDefinition service) {
        String patientId = "warmup";
        ObjectNode root = json.createObjectNode();
        root.put("hook", service.hook());
        root.put("hookInstance", "00000000-0000-0000-0000-000000000000");
        ObjectNode context = root.putObject("context");
        context.put("patientId", patientId);
        context.put("userId", "Practitioner/warmup");
        ObjectNode prefetch = root.putObject("prefetch");
        ObjectNode patient = prefetch.putObject("patient");
        patient.put("resourceType", "Patient").put("id", patientId).put("birthDate", "2000-01-01");
        List<ValueSetRepository.Member> members = valueSets.allMembers();
        String date = LocalDate.now().minusDays(40).toString();
        prefetch.set("conditions", bundle(members, "Condition", patientId, date));
        prefetch.set("observations", bundle(members, "Observation", patientId, date));
        prefetch.set("procedures", bundle(members, "Procedure", patientId, date));
        if ("order-select".equals(service.hook())) {
            ObjectNode drafts = bundle(members.subList(0, Math.min(3, members.size())), "ServiceRequest", patientId, date);
            ArrayNode selections = context.putArray("selections");
            drafts.path("entry").forEach(e -> selections.add("ServiceRequest/" + e.path("resource").path("id").asText()));
            context.set("draftOrders", drafts);
            prefetch.set("orders", drafts.deepCopy()); // the record's open orders: the same drafts
        }
        prefetch.retain(service.prefetch().keySet());
        return root;
    }

    private ObjectNode bundle(List<ValueSetRepository.Member> members, String type, String patientId, String date) {
        ObjectNode bundle = json.createObjectNode();
        bundle.put("resourceType", "Bundle").put("type", "searchset");
        ArrayNode entries = bundle.putArray("entry");
        int i = 0;
        for (ValueSetRepository.Member m : members) {
            ObjectNode r = entries.addObject().putObject("resource");
            r.put("resourceType", type).put("id", "warmup-" + type.toLowerCase() + "-" + i++);
            r.putObject("subject").put("reference", "Patient/" + patientId);
            r.putObject("code").putArray("coding").addObject().put("system", m.system()).put("code", m.code());
            switch (type) {
                case "Observation" -> {
                    r.put("status", "final").put("effectiveDateTime", date);
                    r.putObject("valueQuantity").put("value", 1.0).put("unit", "%")
                            .put("system", "http://unitsofmeasure.org").put("code", "%");
                }
                case "Condition" -> r.put("onsetDateTime", date);
                case "Procedure" -> r.put("status", "completed").put("performedDateTime", date);
                case "ServiceRequest" -> r.put("status", "draft").put("intent", "order");
                default -> { }
            }
        }
        return bundle;
    }
}
