package org.allcds.cql;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.fhir.ucum.Concept;
import org.fhir.ucum.Converter;
import org.fhir.ucum.ExpressionParser;
import org.fhir.ucum.ConceptKind;
import org.fhir.ucum.Decimal;
import org.fhir.ucum.DefinedUnit;
import org.fhir.ucum.Pair;
import org.fhir.ucum.UcumException;
import org.fhir.ucum.UcumModel;
import org.fhir.ucum.UcumService;
import org.fhir.ucum.special.Registry;

/**
 * UCUM for the CQL engine's {@code convert}: the engine asks UCUM Essence for every quantity, and
 * UCUM Essence parses both units into their canonical forms each time (two thirds of the CQL time on a
 * 300-result record). Lab units convert by a constant factor, so the canonical values of each unit pair
 * are worked out once (by UCUM Essence's own parser and converter) and the value is then converted with
 * UCUM Essence's own decimal arithmetic, in its order (times the source's, divided by the target's): its
 * answer, digit for digit. A pair that is not a plain factor (temperatures) is never cached; a pair UCUM
 * refuses is refused again, the same way, every time.
 */
final class CachingUcumService implements UcumService {

    /** The canonical values of a unit pair (UCUM converts {@code v} to {@code v * source / target}), or why not. */
    private record Factor(Decimal source, Decimal target, boolean equalValues, UcumException refusal) {}

    private static final Factor NOT_LINEAR = new Factor(null, null, false, null);

    private final UcumService ucum;
    private final Map<String, Map<String, Factor>> factors = new ConcurrentHashMap<>();

    CachingUcumService(UcumService ucum) {
        this.ucum = ucum;
    }

    @Override
    public Decimal convert(Decimal value, String sourceUnit, String destUnit) throws UcumException {
        if (sourceUnit.equals(destUnit)) {
            return value; // as UCUM Essence: the value as written, trailing zeros kept (even for a unit it does not know)
        }
        Factor factor = factorOf(sourceUnit, destUnit);
        if (factor.refusal() != null) {
            throw new UcumException(factor.refusal().getMessage());
        }
        if (factor == NOT_LINEAR) {
            return ucum.convert(value, sourceUnit, destUnit);
        }
        return byFactor(value, factor);
    }

    /** UCUM Essence's own steps after it has the canonical values (its {@code convert}, minus the parsing). */
    private static Decimal byFactor(Decimal value, Factor factor) throws UcumException {
        Decimal converted = value.multiply(factor.source()).divide(factor.target());
        if (value.isWholeNumber()) {
            converted.checkForCouldBeWholeNumber();
        }
        return converted;
    }

    /**
     * What the engine's {@code ConvertQuantity} makes of {@code convert} for a pair with a constant factor,
     * without the round trips through UCUM Essence's Decimal strings: the value times the factor, trailing
     * zeros stripped, as a plain decimal (the value as it is when both units are the same). Null when the pair has no cached factor, or when the value prints
     * in exponent form (which UCUM Essence's Decimal does not read, so the engine answers null): the
     * caller then goes the engine's way.
     */
    BigDecimal convertByFactor(BigDecimal value, String sourceUnit, String destUnit) {
        // BigDecimal.toString's exponent form: a negative scale, or an adjusted exponent below -6 (its javadoc)
        if (value.scale() < 0 || value.precision() - value.scale() - 1 < -6) {
            return null;
        }
        if (sourceUnit.equals(destUnit)) {
            return value; // as UCUM Essence: unchanged, trailing zeros kept
        }
        Factor factor = factorOf(sourceUnit, destUnit);
        if (factor.refusal() != null || factor == NOT_LINEAR) {
            return null;
        }
        if (factor.equalValues()) {
            // the usual lab case (10*3/uL to 10*9/L): UCUM's answer is the value, trailing zeros stripped;
            // BigDecimal gives it without UCUM's decimal strings (13 µs a conversion)
            BigDecimal stripped = value.stripTrailingZeros();
            return stripped.scale() < 0 ? stripped.setScale(0) : stripped;
        }
        try {
            return new BigDecimal(byFactor(new Decimal(value.toPlainString()), factor).asDecimal());
        } catch (UcumException e) {
            return null; // the engine's way then meets the same refusal
        }
    }

    /** Per source unit, per target unit: no key string built (and hashed) per conversion. */
    private Factor factorOf(String sourceUnit, String destUnit) {
        return factors.computeIfAbsent(sourceUnit, s -> new ConcurrentHashMap<>())
                .computeIfAbsent(destUnit, d -> factor(sourceUnit, d));
    }

    private Factor factor(String sourceUnit, String destUnit) {
        try {
            BigDecimal one = new BigDecimal(ucum.convert(new Decimal(1), sourceUnit, destUnit).asDecimal());
            BigDecimal ten = new BigDecimal(ucum.convert(new Decimal(10), sourceUnit, destUnit).asDecimal());
            BigDecimal zero = new BigDecimal(ucum.convert(new Decimal(0), sourceUnit, destUnit).asDecimal());
            boolean linear = zero.signum() == 0 && ten.compareTo(one.multiply(BigDecimal.TEN)) == 0;
            if (!linear) {
                return NOT_LINEAR;
            }
            Decimal source = canonicalValue(sourceUnit);
            Decimal target = canonicalValue(destUnit);
            return new Factor(source, target, source.asDecimal().equals(target.asDecimal()), null);
        } catch (UcumException e) {
            return new Factor(null, null, false, e);
        } catch (RuntimeException | AssertionError e) {
            // UCUM Essence asserts on some malformed units (an empty code): a refusal like any other.
            FastPathFallbacks.record("unit-factor", e);
            return new Factor(null, null, false,
                    new UcumException("unit '" + sourceUnit + "' cannot be converted to '" + destUnit + "'"));
        }
    }

    /** The unit's value in canonical units, as UCUM Essence's {@code convert} works it out. */
    private Decimal canonicalValue(String unit) throws UcumException {
        return new Converter(ucum.getModel(), new Registry()).convert(new ExpressionParser(ucum.getModel()).parse(unit))
                .getValue();
    }

    // Everything else is UCUM Essence's own answer.

    @Override public UcumModel getModel() { return ucum.getModel(); }
    @Override public UcumVersionDetails ucumIdentification() { return ucum.ucumIdentification(); }
    @Override public List<String> validateUCUM() { return ucum.validateUCUM(); }
    @Override public List<Concept> search(ConceptKind kind, String text, boolean isRegex) { return ucum.search(kind, text, isRegex); }
    @Override public Set<String> getProperties() { return ucum.getProperties(); }
    @Override public String validate(String unit) { return ucum.validate(unit); }
    @Override public String analyse(String unit) throws UcumException { return ucum.analyse(unit); }
    @Override public String validateInProperty(String unit, String property) { return ucum.validateInProperty(unit, property); }
    @Override public String validateCanonicalUnits(String unit, String canonical) { return ucum.validateCanonicalUnits(unit, canonical); }
    @Override public String getCanonicalUnits(String unit) throws UcumException { return ucum.getCanonicalUnits(unit); }
    @Override public boolean isComparable(String units1, String units2) throws UcumException { return ucum.isComparable(units1, units2); }
    @Override public List<DefinedUnit> getDefinedForms(String code) throws UcumException { return ucum.getDefinedForms(code); }
    @Override public Pair getCanonicalForm(Pair value) throws UcumException { return ucum.getCanonicalForm(value); }
    @Override public Pair multiply(Pair o1, Pair o2) throws UcumException { return ucum.multiply(o1, o2); }
    @Override public Pair divideBy(Pair dividend, Pair divisor) throws UcumException { return ucum.divideBy(dividend, divisor); }
    @Override public String getCommonDisplay(String units) { return ucum.getCommonDisplay(units); }
}
