package org.allcds.cql;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.r4.model.Resource;
import org.opencds.cqf.cql.engine.retrieve.RetrieveProvider;
import org.opencds.cqf.cql.engine.runtime.Code;
import org.opencds.cqf.cql.engine.runtime.Interval;

/**
 * Serves CQL retrieves ({@code [Observation: "Marrow Blasts"]}) from one {@link PatientRecord}.
 * The engine hands over the value set url, not its codes: membership is checked against the
 * locally loaded value sets, so nothing is fetched while evaluating.
 */
final class RecordRetrieveProvider implements RetrieveProvider {

    private final PatientRecord record;
    private final ValueSetRepository valueSets;

    RecordRetrieveProvider(PatientRecord record, ValueSetRepository valueSets) {
        this.record = record;
        this.valueSets = valueSets;
    }

    @Override
    public Iterable<Object> retrieve(String context, String contextPath, Object contextValue, String dataType,
            String templateId, String codePath, Iterable<Code> codes, String valueSet, String datePath,
            String dateLowPath, String dateHighPath, Interval dateRange) {
        if (dateRange != null) {
            // Not needed by the project's CQL; refusing beats silently ignoring the filter.
            throw new UnsupportedOperationException("date-filtered retrieves are not supported (" + dataType + ")");
        }
        if ("Patient".equals(dataType)) {
            return List.of(record.patient());
        }
        List<Resource> candidates = record.ofType(dataType);
        if (codePath == null || (codes == null && valueSet == null)) {
            return new ArrayList<>(candidates);
        }
        // The value set's own key set when that is all there is: no copy per retrieve.
        Set<String> wanted = valueSet != null ? valueSets.members(valueSet).keySet() : Set.of();
        if (codes != null) {
            wanted = new HashSet<>(wanted);
            for (Code c : codes) {
                wanted.add(ValueSetRepository.key(c.getSystem(), c.getCode()));
            }
        }
        return new ArrayList<>(record.withAnyCode(dataType, codePath, wanted));
    }
}
