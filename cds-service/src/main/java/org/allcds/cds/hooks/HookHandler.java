package org.allcds.cds.hooks;

import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCardJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseJson;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.allcds.cds.cards.CardFactory;
import org.allcds.cds.evaluation.CqlEvaluationService;
import org.allcds.cds.fhirdata.PatientDataService;
import org.allcds.cds.fhirdata.PrefetchKey;
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

    /**
     * @param issuer the caller's {@code iss} as verified by the authentication filter; {@code null} when
     *               no token was verified (auth off, warm-up). The fhirServer guard decides with it.
     * @param caller who is shown the cards: the ledger holds back cards already addressed for the patient and records
     *               those answered (after the answer is decided). Null (warm-up, benchmarks): the ledger is not used.
     */
    public CdsServiceResponseJson handle(ServiceDefinition service, HookRequest request, String issuer, Caller caller) {
        if (!service.hook().equals(request.hook())) {
            throw RequestProblem.badRequest("wrong-hook", "service '" + service.id() + "' answers hook '" + service.hook()
                    + "', not '" + request.hook() + "'");
        }
        String patientId = request.patientId();
        OrderSelection orders = orderSelection(service, request.context());
        FhirServerAccess access = request.fhirServerAccess() == null ? null : request.fhirServerAccess().onBehalfOf(issuer);
        PatientRecord record = data.load(prefetchKeys(service), patientId, request.prefetch(), access, orders.draftOrders());
        // Nothing below reads the request: its JSON tree (several times the body's size) is garbage from here
        // on, and a collection during the CQL does not copy it.
        Set<String> definitions = cards.definitionsUsed(service);
        Map<String, Object> callParameters = "order-select".equals(service.hook())
                ? Map.of(SELECTED_ORDERS_PARAMETER, orders.selectedServiceRequests()) : Map.of();
        CqlEvaluationService.Evaluation evaluated = evaluation.evaluate(service.library(), definitions, record, callParameters);
        CdsServiceResponseJson response = new CdsServiceResponseJson();
        List<CdsServiceResponseCardJson> built = cards.build(service, evaluated.values(), evaluated.failures(), patientId);
        if (caller != null) {
            built = ledger.withoutAddressed(service.id(), patientId, built);
        }
        built.forEach(response::addCard);
        if (caller != null) {
            ledger.issued(service.id(), request.hookInstance().toString(), patientId, caller, built);
        }
        return response;
    }

    /** The service's prefetch keys as the data layer reads them, in the configured order. */
    public static List<PrefetchKey> prefetchKeys(ServiceDefinition service) {
        List<PrefetchKey> keys = new ArrayList<>(service.prefetch().size());
        service.prefetch().forEach((name, key) -> keys.add(new PrefetchKey(name, key.query(), key.resourceType())));
        return keys;
    }

    /**
     * The CQL parameter of ALLOrderFollowup naming the orders selected in this call
     * ({@code ServiceRequest/<id>}): only they trigger companions.
     */
    static final String SELECTED_ORDERS_PARAMETER = "Selected Orders";

    /**
     * order-select's context: the draft ServiceRequests (part of the record) and the selected ones.
     *
     * @param draftOrders the ServiceRequests of {@code context.draftOrders}; empty for other hooks
     * @param selectedServiceRequests the selections naming a ServiceRequest of draftOrders
     */
    record OrderSelection(List<Resource> draftOrders, List<String> selectedServiceRequests) {
        static final OrderSelection NONE = new OrderSelection(List.of(), List.of());
    }

    /**
     * order-select carries the orders being written in context.draftOrders (a Bundle of any order type) and
     * names the ones being selected now in context.selections. The ServiceRequests among them are part of the
     * record; other order types (a MedicationRequest for intrathecal chemotherapy) are no rule's business and
     * are ignored. A selection that names no draft order is a 400 naming it.
     */
    private OrderSelection orderSelection(ServiceDefinition service, HookRequest.Context context) {
        if (!"order-select".equals(service.hook())) {
            return OrderSelection.NONE;
        }
        JsonNode draftOrders = context.draftOrders();
        if (draftOrders == null) {
            throw RequestProblem.badRequest("invalid-request", "order-select requires context.draftOrders (a Bundle)");
        }
        List<String> selections = context.selections();
        if (selections == null) {
            throw RequestProblem.badRequest("invalid-request", "order-select requires context.selections (an array)");
        }
        JsonNode entries = draftOrders.path("entry");
        Set<String> drafted = new LinkedHashSet<>();
        ObjectNode serviceRequests = draftOrders.deepCopy();
        ArrayNode kept = serviceRequests.putArray("entry");
        if (entries.isArray()) {
            for (JsonNode entry : entries) {
                JsonNode resource = entry.path("resource");
                String type = resource.path("resourceType").asText("");
                if (resource.path("id").isTextual()) {
                    drafted.add(type + "/" + resource.path("id").asText());
                }
                if (!resource.isObject() || "ServiceRequest".equals(type)) {
                    kept.add(entry); // a ServiceRequest, or an entry the Bundle reader refuses with its reason
                }
            }
        } else if (!entries.isMissingNode()) {
            kept.removeAll();
            serviceRequests.set("entry", entries); // refused by the Bundle reader, with its reason
        }
        List<String> selected = new ArrayList<>();
        for (String selection : selections) {
            if (!drafted.contains(selection)) {
                throw RequestProblem.badRequest("invalid-selection", "context.selections entry \"" + selection
                        + "\" names no order in context.draftOrders");
            }
            if (selection.startsWith("ServiceRequest/")) {
                selected.add(selection);
            }
        }
        return new OrderSelection(data.readContextBundle("context.draftOrders", serviceRequests, "ServiceRequest"),
                List.copyOf(selected));
    }
}
