package org.allcds.cql;

import java.util.List;
import org.opencds.cqf.cql.engine.runtime.Code;
import org.opencds.cqf.cql.engine.terminology.CodeSystemInfo;
import org.opencds.cqf.cql.engine.terminology.TerminologyProvider;
import org.opencds.cqf.cql.engine.terminology.ValueSetInfo;

/** Answers the engine's {@code in ValueSet} questions from the locally loaded value sets: no terminology server at run time. */
final class ValueSetTerminologyProvider implements TerminologyProvider {

    private final ValueSetRepository valueSets;

    ValueSetTerminologyProvider(ValueSetRepository valueSets) {
        this.valueSets = valueSets;
    }

    @Override
    public boolean in(Code code, ValueSetInfo valueSet) {
        if (code == null || code.getCode() == null) {
            return false;
        }
        valueSets.members(valueSet.getId()); // unknown value set -> error, never a silent "no"
        return valueSets.contains(valueSet.getId(), code.getSystem(), code.getCode());
    }

    @Override
    public Iterable<Code> expand(ValueSetInfo valueSet) {
        List<Code> codes = valueSets.members(valueSet.getId()).values().stream()
                .map(m -> new Code().withSystem(m.system()).withCode(m.code()).withDisplay(m.display()))
                .toList();
        return codes;
    }

    @Override
    public Code lookup(Code code, CodeSystemInfo codeSystem) {
        return valueSets.allMembers().stream()
                .filter(m -> m.system().equals(codeSystem.getId()) && m.code().equals(code.getCode()))
                .findFirst()
                .map(m -> new Code().withSystem(m.system()).withCode(m.code()).withDisplay(m.display()))
                .orElse(null);
    }
}
