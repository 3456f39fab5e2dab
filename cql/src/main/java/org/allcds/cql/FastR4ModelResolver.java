package org.allcds.cql;

import ca.uhn.fhir.context.BaseRuntimeChildDefinition;
import ca.uhn.fhir.context.BaseRuntimeElementCompositeDefinition;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeChildChoiceDefinition;
import ca.uhn.fhir.context.RuntimeChildPrimitiveDatatypeDefinition;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.instance.model.api.IPrimitiveType;
import org.hl7.fhir.r4.model.Base;
import org.hl7.fhir.r4.model.BaseDateTimeType;
import org.opencds.cqf.cql.engine.runtime.DateTime;
import org.opencds.cqf.cql.engine.runtime.Precision;
import org.opencds.cqf.cql.engine.runtime.TemporalHelper;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.Resource;
import org.opencds.cqf.cql.engine.fhir.model.R4FhirModelResolver;

/**
 * The engine's R4 model resolver, with property reads of composite elements (the bulk of what CQL
 * does with FHIR data: {@code O.value}, {@code Q.code}, {@code C.coding}) resolved once per
 * (class, property) instead of on every read. The stock resolver looks the child definition up by
 * name, scans for choice elements and compares class names on every read; the answer depends only
 * on the class and the name, so a reader is decided once per (class, property) and kept. A primitive's
 * value that needs no conversion (string, code, decimal, boolean...) is read directly; a date, dateTime
 * or instant becomes the engine's Date/DateTime built from its fields. Times, ids, resources read as
 * their own type, and dotted or indexed paths go to the stock code unchanged.
 *
 * <p>Shares the caller's FhirContext (the stock default constructor builds a new one, ~0.5 s).
 */
final class FastR4ModelResolver extends R4FhirModelResolver {

    /** Primitive classes whose value the stock resolver converts (dates, times, ids, base64): left to it. */
    private static final ClassValue<Boolean> CONVERTED = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            return org.hl7.fhir.r4.model.BaseDateTimeType.class.isAssignableFrom(type)
                    || org.hl7.fhir.r4.model.TimeType.class.isAssignableFrom(type)
                    || org.hl7.fhir.r4.model.IdType.class.isAssignableFrom(type)
                    || org.hl7.fhir.r4.model.Base64BinaryType.class.isAssignableFrom(type)
                    || !type.getName().startsWith("org.hl7.fhir.r4.model.");
        }
    };

    /** Per class, per property name: how to read it, decided once ({@link #decideReader}). */
    private final ClassValue<Map<String, UnaryOperator<Object>>> readers = new ClassValue<>() {
        @Override
        protected Map<String, UnaryOperator<Object>> computeValue(Class<?> type) {
            return new ConcurrentHashMap<>();
        }
    };

    FastR4ModelResolver(FhirContext fhirContext) {
        super(fhirContext);
    }

    @Override
    public Object resolvePath(Object target, String path) {
        if (path.indexOf('.') < 0 && path.indexOf('[') < 0) {
            return resolveProperty(target, path);
        }
        return super.resolvePath(target, path);
    }

    @Override
    protected Object resolveProperty(Object target, String path) {
        return target == null ? null : pathReader(target, path).apply(target);
    }

    /**
     * What {@link #resolvePath} answers for {@code path} on any object of {@code sample}'s class. Every
     * test made before reading depends only on the class and the path, so the reader is decided once
     * per (class, path) and kept; the compiled ELM's property sites also keep it per class they meet.
     */
    UnaryOperator<Object> pathReader(Object sample, String path) {
        return readers.get(sample.getClass()).computeIfAbsent(path, p -> decideReader(sample, p));
    }

    private UnaryOperator<Object> decideReader(Object sample, String path) {
        if (path.indexOf('.') >= 0 || path.indexOf('[') >= 0) {
            return target -> super.resolvePath(target, path);
        }
        // Casts to the model's classes, not to HAPI's interfaces: on Java 17 an interface check on a hot
        // path thrashes the one-entry cache of the class's interfaces (JDK-8180450), per read.
        if ("value".equals(path) && (sample.getClass() == org.hl7.fhir.r4.model.DateTimeType.class
                || sample.getClass() == org.hl7.fhir.r4.model.InstantType.class
                || sample.getClass() == org.hl7.fhir.r4.model.DateType.class)) {
            boolean dateOnly = sample.getClass() == org.hl7.fhir.r4.model.DateType.class;
            return target -> {
                Object converted = convertTemporal((BaseDateTimeType) target, dateOnly);
                return converted != NOT_CONVERTED ? converted : super.resolveProperty(target, path);
            };
        }
        if (sample instanceof PrimitiveType<?> && "value".equals(path) && !CONVERTED.get(sample.getClass())) {
            // What the stock code answers for a primitive's value that needs no conversion (strings, codes,
            // decimals, booleans, integers, uris; enumerations as their code), without its class-name switch.
            if (sample instanceof org.hl7.fhir.r4.model.Enumeration<?>) {
                return target -> ((org.hl7.fhir.r4.model.Enumeration<?>) target).getValueAsString();
            }
            return target -> {
                PrimitiveType<?> primitive = (PrimitiveType<?>) target;
                return primitive.hasValue() ? primitive.getValue() : null;
            };
        }
        if (sample instanceof Base base && !(sample instanceof IPrimitiveType<?>)
                && !(sample instanceof Resource r && r.fhirType().equals(path))) {
            PropertyReader reader = readerFor(base, path);
            if (reader != PropertyReader.STOCK) {
                return target -> reader.read((Base) target);
            }
        }
        return target -> super.resolveProperty(target, path);
    }

    private static final Object NOT_CONVERTED = new Object();

    /**
     * The engine's DateTime (or Date, for a FHIR date) of a FHIR date/dateTime/instant: what the stock
     * {@code toDateTime} / {@code toDate} build, read from the instant in the value's time zone instead
     * of through a GregorianCalendar made per read. Years before 1583 (the Julian calendar in
     * GregorianCalendar) and unknown precisions are left to the stock code.
     */
    private static Object convertTemporal(BaseDateTimeType value, boolean dateOnly) {
        java.util.Date when = value.getValue();
        if (when == null || !value.hasValue()) {
            return null; // the stock toJavaPrimitive: a primitive without a value is null
        }
        java.util.TimeZone tz = value.getTimeZone();
        java.time.ZonedDateTime z = java.time.Instant.ofEpochMilli(when.getTime()).atZone((tz != null ? tz : java.util.TimeZone.getDefault()).toZoneId());
        if (z.getYear() < 1583 || value.getPrecision() == null) {
            return NOT_CONVERTED;
        }
        int y = z.getYear();
        int mo = z.getMonthValue();
        int d = z.getDayOfMonth();
        if (dateOnly) {
            return switch (value.getPrecision()) {
                case YEAR -> new org.opencds.cqf.cql.engine.runtime.Date(y);
                case MONTH -> new org.opencds.cqf.cql.engine.runtime.Date(y, mo);
                case DAY -> new org.opencds.cqf.cql.engine.runtime.Date(y, mo, d);
                default -> NOT_CONVERTED;
            };
        }
        // The stock code builds the engine's DateTime from its elements by printing and parsing a string;
        // the same value, built directly. Its offset goes through the engine's decimal-hours round trip.
        java.time.ZoneOffset offset = ENGINE_OFFSETS.computeIfAbsent(z.getOffset(),
                o -> new DateTime(TemporalHelper.zoneToOffset(o), 2000).getZoneOffset());
        return switch (value.getPrecision()) {
            case YEAR -> dateTime(y, 1, 1, 0, 0, 0, 0, offset, Precision.YEAR);
            case MONTH -> dateTime(y, mo, 1, 0, 0, 0, 0, offset, Precision.MONTH);
            case DAY -> dateTime(y, mo, d, 0, 0, 0, 0, offset, Precision.DAY);
            case MINUTE -> dateTime(y, mo, d, z.getHour(), z.getMinute(), 0, 0, offset, Precision.MINUTE);
            case SECOND -> dateTime(y, mo, d, z.getHour(), z.getMinute(), z.getSecond(), 0, offset, Precision.SECOND);
            case MILLI -> dateTime(y, mo, d, z.getHour(), z.getMinute(), z.getSecond(), z.getNano() / 1_000_000, offset,
                    Precision.MILLISECOND);
            default -> NOT_CONVERTED;
        };
    }

    private static final Map<java.time.ZoneOffset, java.time.ZoneOffset> ENGINE_OFFSETS = new ConcurrentHashMap<>();

    private static DateTime dateTime(int y, int mo, int d, int h, int mi, int s, int ms, java.time.ZoneOffset offset,
            Precision precision) {
        return new DateTime(java.time.OffsetDateTime.of(y, mo, d, h, mi, s, ms * 1_000_000, offset), precision);
    }

    private PropertyReader readerFor(IBase base, String path) {
        BaseRuntimeElementCompositeDefinition<?> definition = resolveRuntimeDefinition(base);
        BaseRuntimeChildDefinition child = definition.getChildByName(path);
        if (child == null) {
            child = resolveChoiceProperty(definition, path);
        }
        if (child == null) {
            return PropertyReader.NONE;
        }
        // A choice read by a typed name (valueQuantity) answers only when the value is of that type.
        Class<?> requiredClass = null;
        if (child instanceof RuntimeChildChoiceDefinition && !child.getElementName().equalsIgnoreCase(path)) {
            if (!child.getValidChildNames().contains(path)) {
                return PropertyReader.STOCK; // a mere prefix of the choice's name ("val"): the stock code decides
            }
            requiredClass = child.getChildByName(path).getImplementingClass();
        }
        return new PropertyReader(child, child instanceof RuntimeChildPrimitiveDatatypeDefinition, requiredClass,
                child.getMax() < 1);
    }

    /**
     * What the stock {@code resolveProperty} does after finding the child, for a composite target: its
     * final {@code toJavaPrimitive(value, target)} only converts when the target itself is a date, time,
     * id or base64 primitive, which a composite never is, so it is left out.
     */
    private record PropertyReader(BaseRuntimeChildDefinition child, boolean primitiveChild, Class<?> requiredClass,
            boolean many) {

        static final PropertyReader NONE = new PropertyReader(null, false, null, false);
        /** Not cacheable: read with the stock resolver every time. */
        static final PropertyReader STOCK = new PropertyReader(null, false, null, false);

        Object read(IBase base) {
            if (child == null) {
                return null;
            }
            List<IBase> values = child.getAccessor().getValues(base);
            if (values == null || values.isEmpty()) {
                return null;
            }
            IBase first = values.get(0);
            if (primitiveChild && !hasValue(first)) {
                return null;
            }
            // The stock code compares simple class names; within the R4 model that is class identity.
            if (requiredClass != null && first.getClass() != requiredClass) {
                return null;
            }
            return many ? values : first;
        }

        /** A primitive without a value is read as null; the class test first (see {@link #pathReader}). */
        private static boolean hasValue(IBase value) {
            if (value instanceof PrimitiveType<?> p) {
                return p.hasValue();
            }
            return !(value instanceof IPrimitiveType<?> p) || p.hasValue();
        }
    }
}
