package org.allcds.cql;

import static org.allcds.cql.TestRecord.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link CqlLogic#evaluateEach}: a definition that cannot be evaluated loses only what depends on it. */
class EvaluateEachTest {

    @ParameterizedTest(name = "interpreter {0}")
    @ValueSource(booleans = { false, true })
    void aFailingDefinitionLosesOnlyWhatDependsOnIt(boolean interpreter) {
        TestRecord r = TestRecord.aged(30).bAll(ago(400));
        r.selectedDraft(SCT, "49401003");
        r.selectedDraft(SCT, "277762005");
        r.quantity(CSF_WBC, 2, "/uL", ago(3));
        r.quantity(CSF_BLASTS, 0, "%", ago(3));
        // A value of the wrong type for the CSF window: every definition that reads it fails.
        Map<String, Object> parameters = Map.of("Companion CSF Valid Days", "not a number",
                "Selected Orders", selected(r));
        CqlLogic logic = TestRecord.logic();
        assertThatThrownBy(() -> logic.evaluate("ALLOrderFollowup", logic.definitionNames("ALLOrderFollowup"),
                r.record(), parameters, NOW)).as("evaluated all at once, the whole call fails").isInstanceOf(RuntimeException.class);

        Map<String, RuntimeException> failures = new LinkedHashMap<>();
        Map<String, Object> values = logic.evaluateEach("ALLOrderFollowup", logic.definitionNames("ALLOrderFollowup"),
                r.record(), parameters, NOW, interpreter, failures);
        assertThat(failures).containsKeys("CSF Companions", "Order Companions Fires").doesNotContainKey("Marrow Companions");
        assertThat(values).doesNotContainKeys("CSF Companions", "Order Companions Fires");
        assertThat(values.get("Has ALL")).isEqualTo(true);
        assertThat((List<?>) values.get("Marrow Companions")).hasSize(6);
        assertThat(values.keySet()).doesNotContainAnyElementsOf(failures.keySet());
    }

    private static List<String> selected(TestRecord r) {
        return r.resources().stream().filter(x -> x instanceof org.hl7.fhir.r4.model.ServiceRequest)
                .map(x -> "ServiceRequest/" + x.getIdElement().getIdPart()).toList();
    }
}
