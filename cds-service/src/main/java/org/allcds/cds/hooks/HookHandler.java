package org.allcds.cds.hooks;

import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCardJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseJson;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.allcds.cds.cards.CardFactory;
import org.allcds.cds.evaluation.CqlEvaluationService;
import org.allcds.cds.fhirdata.PatientDataService;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.cds.fhirdata.FhirServerAccess;
import org.allcds.cds.ledger.CardLedger;
import org.allcds.cds.ledger.Caller;
import org.allcds.cds.services.ServiceDefinition;
import org.allcds.cql.PatientRecord;
import org.hl7.fhir.r4.model.Resource;
import org.springframework.stereotype.Service;

/** One hook call, start to end: the patient's data, the CQL's decision, the cards. */
@Service
public class HookHandler {

    private final PatientDataService data;
    private final CqlEvaluationService evaluation;
    private final CardFactory cards;
    private final CardLedger ledger;

    public HookHandler(PatientDataService data, CqlEvaluationService evaluation, CardFactory cards, CardLedger ledger) {
        this.data = data;
        this.evaluation = evaluation;
        this.cards = cards;
        this.ledger = ledger;
    }

    public CdsServiceResponseJson handle(ServiceDefinition service, HookRequest request) {
        return handle(service, request, null);
    }

    /**
     * @param issuer the caller's {@code iss} as verified by the authentication filter; {@code null} when
     *               no token was verified (auth off, warm-up). The fhirServer guard decides with it.
     */
    public CdsServiceResponseJson handle(ServiceDefinition service, HookRequest request, String issuer) {
        return handle(service, request, issuer, null);
    }

    /**
     * @param caller who is shown the cards: the ledger holds back cards already addressed for the patient and records
     *               those answered (after the answer is decided). Null (warm-up, benchmarks): the ledger is not used.
     */
    public CdsServiceResponseJson handle(ServiceDefinition service, HookRequest request, String issuer, Caller caller) {
        if (!service.hook().equals(request.hook())) {
            throw RequestProblem.badRequest("wrong-hook", "service '" + service.id() + "' answers hook '" + service.hook()
                    + "', not '" + request.hook() + "'");
        }
        String patientId = request.patientId();
        List<Resource> contextResources = contextResources(service, request.context());
        FhirServerAccess access = request.fhirServer() == null ? null : request.fhirServer().onBehalfOf(issuer);
        PatientRecord record = data.load(service, patientId, request.prefetch(), access, contextResources, request.readAhead());
        // Nothing below reads the request: its JSON tree (several times the body's size) is garbage from here
        // on, and a collection during the CQL does not copy it.
        Set<String> definitions = cards.definitionsUsed(service);
        Map<String, Object> results = evaluation.evaluate(service.library(), definitions, record);
        CdsServiceResponseJson response = new CdsServiceResponseJson();
        List<CdsServiceResponseCardJson> built = cards.build(service, results, patientId);
        if (caller != null) {
            built = ledger.withoutAddressed(service.id(), patientId, built);
        }
        built.forEach(response::addCard);
        if (caller != null) {
            ledger.issued(service.id(), request.hookInstance(), patientId, caller, built);
        }
        return response;
    }

    /** order-select carries the orders being written in context.draftOrders (a Bundle); they are part of the record. */
    private List<Resource> contextResources(ServiceDefinition service, JsonNode context) {
        if (!"order-select".equals(service.hook())) {
            return List.of();
        }
        JsonNode draftOrders = context.get("draftOrders");
        if (draftOrders == null || !draftOrders.isObject()) {
            throw RequestProblem.badRequest("invalid-request", "order-select requires context.draftOrders (a Bundle)");
        }
        JsonNode selections = context.get("selections");
        if (selections == null || !selections.isArray()) {
            throw RequestProblem.badRequest("invalid-request", "order-select requires context.selections (an array)");
        }
        return data.readContextBundle("context.draftOrders", draftOrders, "ServiceRequest");
    }
}
