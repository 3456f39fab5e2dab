package org.allcds.cql;

import java.math.BigDecimal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import javax.xml.namespace.QName;
import org.cqframework.cql.elm.evaluating.SimpleElmEvaluator;
import org.hl7.elm.r1.*;
import org.opencds.cqf.cql.engine.data.DataProvider;
import org.opencds.cqf.cql.engine.elm.executing.*;
import org.opencds.cqf.cql.engine.exception.CqlException;
import org.opencds.cqf.cql.engine.execution.Environment;
import org.opencds.cqf.cql.engine.execution.State;
import org.opencds.cqf.cql.engine.model.ModelResolver;
import org.opencds.cqf.cql.engine.runtime.Code;
import org.opencds.cqf.cql.engine.runtime.CodeSystem;
import org.opencds.cqf.cql.engine.runtime.Concept;
import org.opencds.cqf.cql.engine.runtime.CqlList;
import org.opencds.cqf.cql.engine.runtime.Precision;
import org.opencds.cqf.cql.engine.runtime.Quantity;
import org.opencds.cqf.cql.engine.runtime.Tuple;
import org.opencds.cqf.cql.engine.runtime.ValueSet;
import org.opencds.cqf.cql.engine.terminology.ValueSetInfo;

/**
 * The project's ELM, compiled once at start-up into a tree of Java closures, then evaluated per call
 * without the engine's interpreter. Every operator is still the engine's own ({@code EqualEvaluator},
 * {@code DurationBetweenEvaluator}, {@code InValueSetEvaluator}, the engine's runtime types, the same
 * data and terminology providers), and queries, function calls, definition and parameter references
 * follow the engine's evaluators step for step; what is compiled away is the interpreter's per-node
 * cost: visitor dispatch, name lookups walking the activation stack, a Variable object per operand and
 * alias, function resolution per call, the cache maps. Names are resolved to array slots and
 * definitions to holders here, once.
 *
 * <p>Only the ELM constructs the project's libraries use are compiled; anything else throws
 * {@link UnsupportedElm} at start-up, and {@link CqlLogic} then evaluates with the stock engine. The
 * stock engine stays the reference: every CQL unit case ({@code TestRecord.eval}) and
 * {@code CompiledCqlTest} (every definition on every fixture and on a long record) evaluate both ways
 * and require identical values.
 *
 * <p>Beyond removing the interpreter, three things change the work done but not the answers: property
 * reads keep the model resolver's reader per class ({@link PropertyRead}), unit conversion uses the
 * cached UCUM factor, and a date-range query over a list sorted by that date visits only the rows in
 * the range ({@link ColumnSortedList}).
 */
final class CompiledCql {

    /** One compiled ELM expression. {@code locals} holds the operands, aliases and lets of the enclosing body. */
    @FunctionalInterface
    interface Node {
        Object eval(Run run, Object[] locals);
    }

    /** An ELM construct this compiler does not handle; the stock engine is used instead. */
    static final class UnsupportedElm extends RuntimeException {
        UnsupportedElm(String what) {
            super(what);
        }
    }

    private static final Object UNSET = new Object();
    private static final QName QUANTITY = new QName("urn:hl7-org:elm-types:r1", "Quantity");
    private static final QName CODE = new QName("urn:hl7-org:elm-types:r1", "Code");
    private static final QName CONCEPT = new QName("urn:hl7-org:elm-types:r1", "Concept");
    private static final Map<QName, Supplier<Object>> SYSTEM_TYPES = Map.of(
            QUANTITY, Quantity::new, CODE, Code::new, CONCEPT, Concept::new);
    @SuppressWarnings("unchecked")
    private static final Map<QName, Map<String, BiConsumer<Object, Object>>> SYSTEM_SETTERS = Map.of(
            QUANTITY, Map.of(
                    "value", (o, v) -> ((Quantity) o).setValue((BigDecimal) v),
                    "unit", (o, v) -> ((Quantity) o).setUnit((String) v)),
            CODE, Map.of(
                    "code", (o, v) -> ((Code) o).setCode((String) v),
                    "system", (o, v) -> ((Code) o).setSystem((String) v),
                    "version", (o, v) -> ((Code) o).setVersion((String) v),
                    "display", (o, v) -> ((Code) o).setDisplay((String) v)),
            CONCEPT, Map.of(
                    "codes", (o, v) -> ((Concept) o).setCodes((Iterable<Code>) v),
                    "display", (o, v) -> ((Concept) o).setDisplay((String) v)));

    /** Per-call state: the engine State the operators take, and the values of definitions and parameters. */
    static final class Run {
        final State state;
        final Environment env;
        final DataProvider fhir;
        final Object contextValue;
        final Map<String, Object> parameters;
        final Object[][] defValues;
        final Object[][] paramValues;

        Run(CompiledCql compiled, State state, DataProvider fhir, Object contextValue, Map<String, Object> parameters) {
            this.state = state;
            this.env = state.getEnvironment();
            this.fhir = fhir;
            this.contextValue = contextValue;
            this.parameters = parameters == null ? Map.of() : parameters;
            int n = compiled.units.size();
            this.defValues = new Object[n][];
            this.paramValues = new Object[n][];
            for (Unit u : compiled.units.values()) {
                defValues[u.index] = filled(u.defs.size());
                paramValues[u.index] = filled(u.params.size());
            }
            this.today = TodayEvaluator.today(state);
            this.now = NowEvaluator.internalEvaluate(state);
        }

        private final Object today;
        private final Object now;

        /** Today() is the evaluation date: the same value however often a call asks (once per result here). */
        Object today() {
            return today;
        }

        /** Now() is the evaluation date-time, in the configured zone (its offset dates every instant). */
        Object now() {
            return now;
        }

        private static Object[] filled(int n) {
            Object[] a = new Object[n];
            java.util.Arrays.fill(a, UNSET);
            return a;
        }
    }

    /** A body to evaluate with its own locals: an expression definition, a function, a parameter default. */
    static class Body {
        Node node;
        int locals;
    }

    /** A definition or parameter: where its value is kept in a {@link Run}. */
    static class Slot extends Body {
        final int unit;
        final int index;
        final String name;

        Slot(int unit, int index, String name) {
            this.unit = unit;
            this.index = index;
            this.name = name;
        }
    }

    static final class DefSlot extends Slot {
        DefSlot(int unit, int index, String name) {
            super(unit, index, name);
        }
    }

    static final class ParamSlot extends Slot {
        final String fullName;

        ParamSlot(int unit, int index, String name, String fullName) {
            super(unit, index, name);
            this.fullName = fullName;
        }
    }

    /** One library: its definitions, functions and parameters by name. */
    static final class Unit {
        final int index;
        final Library library;
        final Map<String, DefSlot> defs = new LinkedHashMap<>();
        final Map<String, ParamSlot> params = new LinkedHashMap<>();
        final Map<String, List<FunctionDef>> functions = new HashMap<>();
        final Map<String, String> includes = new HashMap<>(); // local alias -> library id

        Unit(int index, Library library) {
            this.index = index;
            this.library = library;
        }
    }

    private final Map<String, Unit> units = new LinkedHashMap<>();
    private final Map<FunctionDef, Body> functionBodies = new IdentityHashMap<>();
    private final Set<FunctionDef> compiling = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private final Environment types;
    private final State compileState;

    private final ModelResolver fhirModel;
    /** Classes of the FHIR model's packages: the data provider the environment would pick for them is fhirModel's. */
    private final ClassValue<Boolean> inFhirModel;

    private CompiledCql(Environment types, ModelResolver fhirModel) {
        this.types = types;
        this.compileState = new State(types);
        this.fhirModel = fhirModel;
        Set<String> packages = Set.copyOf(fhirModel.getPackageNames());
        this.inFhirModel = new ClassValue<>() {
            @Override
            protected Boolean computeValue(Class<?> type) {
                return packages.contains(type.getPackageName());
            }
        };
    }

    /**
     * Compiles every definition of every library.
     *
     * @param types an environment over the same model resolver as evaluation (for type names only)
     * @param fhirModel the model resolver of that environment's FHIR data provider
     * @throws UnsupportedElm when a library uses a construct not compiled here
     */
    static CompiledCql compile(Map<String, Library> librariesByName, Environment types, ModelResolver fhirModel) {
        CompiledCql c = new CompiledCql(types, fhirModel);
        int i = 0;
        for (Library library : librariesByName.values()) {
            Unit u = new Unit(i++, library);
            c.units.put(library.getIdentifier().getId(), u);
            if (library.getIncludes() != null) {
                for (IncludeDef inc : library.getIncludes().getDef()) {
                    u.includes.put(inc.getLocalIdentifier(), inc.getPath());
                }
            }
            if (library.getParameters() != null) {
                for (ParameterDef p : library.getParameters().getDef()) {
                    u.params.put(p.getName(), new ParamSlot(u.index, u.params.size(), p.getName(),
                            library.getIdentifier().getId() + "." + p.getName()));
                }
            }
            if (library.getStatements() != null) {
                for (ExpressionDef def : library.getStatements().getDef()) {
                    if (def instanceof FunctionDef f) {
                        u.functions.computeIfAbsent(f.getName(), k -> new ArrayList<>()).add(f);
                        c.functionBodies.put(f, new Body());
                    } else {
                        if (def.getContext() != null && !"Patient".equals(def.getContext())) {
                            throw new UnsupportedElm("context " + def.getContext() + " of " + def.getName());
                        }
                        u.defs.put(def.getName(), new DefSlot(u.index, u.defs.size(), def.getName()));
                    }
                }
            }
        }
        for (Unit u : c.units.values()) {
            if (u.library.getParameters() != null) {
                for (ParameterDef p : u.library.getParameters().getDef()) {
                    if (p.getDefault() != null) {
                        c.compileBody(u.params.get(p.getName()), u, p.getDefault(), List.of());
                    }
                }
            }
            if (u.library.getStatements() != null) {
                for (ExpressionDef def : u.library.getStatements().getDef()) {
                    if (!(def instanceof FunctionDef)) {
                        c.compileBody(u.defs.get(def.getName()), u, def.getExpression(), List.of());
                    }
                }
            }
        }
        return c;
    }

    /** The value of one definition of a library; definitions it refers to are evaluated once per run. */
    Object evaluate(String libraryName, String definition, Run run) {
        DefSlot def = unit(libraryName).defs.get(definition);
        if (def == null) {
            throw new CqlException("Could not resolve expression reference '" + definition + "' in library '"
                    + libraryName + "'.");
        }
        return value(def, run);
    }

    /** The library a reference names by its include alias; the referring library when it names none. */
    private Unit referenced(String includeAlias, Unit from) {
        return includeAlias == null ? from : unit(from.includes.get(includeAlias));
    }

    private Unit unit(String id) {
        Unit u = units.get(id);
        if (u == null) {
            throw new UnsupportedElm("library " + id + " not loaded");
        }
        return u;
    }

    private static Object value(DefSlot def, Run run) {
        Object[] values = run.defValues[def.unit];
        Object v = values[def.index];
        if (v == UNSET) {
            v = def.node.eval(run, new Object[def.locals]);
            values[def.index] = v;
        }
        return v;
    }

    private static Object value(ParamSlot p, Run run) {
        Object[] values = run.paramValues[p.unit];
        Object v = values[p.index];
        if (v == UNSET) {
            // As the engine: a value for "Library.Name" first, then "Name", then the default.
            if (run.parameters.containsKey(p.fullName)) {
                v = run.parameters.get(p.fullName);
            } else if (run.parameters.containsKey(p.name)) {
                v = run.parameters.get(p.name);
            } else {
                v = p.node == null ? null : p.node.eval(run, new Object[p.locals]);
            }
            values[p.index] = v;
        }
        return v;
    }

    // ---------------------------------------------------------------- compiling

    /** Where a name lives in the locals of the body being compiled. */
    private static final class Scope {
        private final Deque<Map.Entry<String, Integer>> names = new ArrayDeque<>();
        private int next;
        private int max;

        int bind(String name) {
            int slot = next++;
            max = Math.max(max, next);
            names.push(Map.entry(name, slot));
            return slot;
        }

        void unbind(int count) {
            for (int i = 0; i < count; i++) {
                names.pop();
                next--;
            }
        }

        int slot(String name) {
            int slot = find(name);
            if (slot < 0) {
                throw new UnsupportedElm("unresolved name " + name);
            }
            return slot;
        }

        boolean has(String name) {
            return find(name) >= 0;
        }

        private int find(String name) {
            for (Map.Entry<String, Integer> e : names) {
                if (e.getKey().equals(name)) {
                    return e.getValue();
                }
            }
            return -1;
        }
    }

    private void compileBody(Body body, Unit unit, Expression expression, List<String> operands) {
        Scope scope = new Scope();
        operands.forEach(scope::bind);
        body.node = compile(expression, unit, scope);
        body.locals = scope.max;
    }

    /** Operators the engine's own evaluator computes from the operand's value. */
    private static final Map<Class<?>, UnaryOperator<Object>> UNARY = Map.ofEntries(
            Map.entry(Not.class, NotEvaluator::not),
            Map.entry(IsNull.class, IsNullEvaluator::isNull),
            Map.entry(Exists.class, ExistsEvaluator::exists),
            Map.entry(Floor.class, FloorEvaluator::floor),
            Map.entry(TimezoneOffsetFrom.class, TimezoneOffsetFromEvaluator::timezoneOffsetFrom),
            Map.entry(Flatten.class, FlattenEvaluator::flatten),
            Map.entry(ToString.class, ToStringEvaluator::toString),
            Map.entry(ToDecimal.class, ToDecimalEvaluator::toDecimal),
            Map.entry(ToList.class, ToListEvaluator::toList),
            Map.entry(Abs.class, AbsEvaluator::abs),
            Map.entry(SingletonFrom.class, SingletonFromEvaluator::singletonFrom),
            Map.entry(DateFrom.class, DateFromEvaluator::dateFrom));

    /** Operators the engine's own evaluator computes from both operands' values (and / or too: the engine evaluates both). */
    private static final Map<Class<?>, StateOp> BINARY = Map.ofEntries(
            Map.entry(And.class, (a, b, st) -> AndEvaluator.and(a, b)),
            Map.entry(Or.class, (a, b, st) -> OrEvaluator.or(a, b)),
            Map.entry(Add.class, (a, b, st) -> AddEvaluator.add(a, b)),
            Map.entry(Subtract.class, (a, b, st) -> SubtractEvaluator.subtract(a, b)),
            Map.entry(Multiply.class, (a, b, st) -> MultiplyEvaluator.multiply(a, b)),
            Map.entry(Divide.class, DivideEvaluator::divide),
            Map.entry(Union.class, UnionEvaluator::union),
            Map.entry(Intersect.class, IntersectEvaluator::intersect),
            Map.entry(Equal.class, EqualEvaluator::equal),
            Map.entry(Less.class, LessEvaluator::less),
            Map.entry(LessOrEqual.class, LessOrEqualEvaluator::lessOrEqual),
            Map.entry(Greater.class, GreaterEvaluator::greater),
            Map.entry(GreaterOrEqual.class, GreaterOrEqualEvaluator::greaterOrEqual),
            Map.entry(ConvertQuantity.class, CompiledCql::convertQuantity));

    private Node compile(Expression e, Unit u, Scope s) {
        if (e == null) {
            return (r, l) -> null;
        }
        if (e instanceof ExpressionRef ref && !(e instanceof FunctionRef)) {
            Unit target = referenced(ref.getLibraryName(), u);
            DefSlot def = target.defs.get(ref.getName());
            if (def == null) {
                throw new UnsupportedElm("unresolved definition " + ref.getName());
            }
            return (r, l) -> value(def, r);
        }
        if (e instanceof FunctionRef ref) {
            return functionCall(ref, u, s);
        }
        if (e instanceof Property p) {
            return property(p, u, s);
        }
        if (e instanceof Query q) {
            return query(q, u, s);
        }
        if (e instanceof AliasRef a) {
            int slot = s.slot(a.getName());
            return (r, l) -> l[slot];
        }
        if (e instanceof QueryLetRef a) {
            int slot = s.slot(a.getName());
            return (r, l) -> l[slot];
        }
        if (e instanceof OperandRef a) {
            int slot = s.slot(a.getName());
            return (r, l) -> l[slot];
        }
        if (e instanceof IdentifierRef id) {
            return identifier(id, s);
        }
        if (e instanceof Literal lit) {
            Object v = LiteralEvaluator.internalEvaluate(lit.getValueType(), lit.getValue(), compileState);
            return (r, l) -> v;
        }
        if (e instanceof Null) {
            return (r, l) -> null;
        }
        UnaryOperator<Object> unaryOp = UNARY.get(e.getClass());
        if (unaryOp != null) {
            return unary(((UnaryExpression) e).getOperand(), u, s, unaryOp);
        }
        StateOp binaryOp = BINARY.get(e.getClass());
        if (binaryOp != null) {
            return binaryState(e instanceof NaryExpression n ? n.getOperand() : ((BinaryExpression) e).getOperand(), u, s, binaryOp);
        }
        if (e instanceof If i) {
            Node cond = compile(i.getCondition(), u, s);
            Node then = compile(i.getThen(), u, s);
            Node otherwise = compile(i.getElse(), u, s);
            return (r, l) -> {
                Object c = cond.eval(r, l);
                return (c != null && (Boolean) c) ? then.eval(r, l) : otherwise.eval(r, l);
            };
        }
        if (e instanceof Case c) {
            return caseOf(c, u, s);
        }
        if (e instanceof Concatenate c) {
            return binaryState(c.getOperand(), u, s, (a, b, st) -> ConcatenateEvaluator.concatenate(a, b));
        }
        if (e instanceof As as) {
            Class<?> type = as.getAsTypeSpecifier() != null
                    ? types.resolveType(as.getAsTypeSpecifier())
                    : types.resolveType(as.getAsType());
            boolean strict = as.isStrict();
            Node operand = compile(as.getOperand(), u, s);
            return (r, l) -> r.env.as(operand.eval(r, l), type, strict);
        }
        if (e instanceof Is is) {
            Class<?> type = is.getIsTypeSpecifier() != null
                    ? types.resolveType(is.getIsTypeSpecifier())
                    : types.resolveType(is.getIsType());
            Node operand = compile(is.getOperand(), u, s);
            return (r, l) -> r.env.is(operand.eval(r, l), type);
        }
        if (e instanceof org.hl7.elm.r1.List list) {
            Node[] elements = compileAll(list.getElement(), u, s);
            return (r, l) -> {
                ArrayList<Object> result = new ArrayList<>(elements.length);
                for (Node n : elements) {
                    result.add(n.eval(r, l));
                }
                return result;
            };
        }
        if (e instanceof org.hl7.elm.r1.Tuple t) {
            int n = t.getElement().size();
            String[] names = new String[n];
            Node[] values = new Node[n];
            for (int i = 0; i < n; i++) {
                names[i] = t.getElement().get(i).getName();
                values[i] = compile(t.getElement().get(i).getValue(), u, s);
            }
            ArrayTuple.Shape shape = new ArrayTuple.Shape(names);
            return (r, l) -> {
                Object[] elements = new Object[n];
                for (int i = 0; i < n; i++) {
                    elements[i] = values[i].eval(r, l);
                }
                return new ArrayTuple(r.state, shape, elements);
            };
        }
        if (e instanceof Instance inst) {
            QName classType = inst.getClassType();
            int n = inst.getElement().size();
            String[] names = new String[n];
            Node[] values = new Node[n];
            for (int i = 0; i < n; i++) {
                names[i] = inst.getElement().get(i).getName();
                values[i] = compile(inst.getElement().get(i).getValue(), u, s);
            }
            Map<String, BiConsumer<Object, Object>> setters = SYSTEM_SETTERS.get(classType);
            if (setters != null && setters.keySet().containsAll(List.of(names))) {
                // System.Quantity / Code / Concept (FHIRHelpers' ToQuantity, ToCode, ToConcept): the setters the engine's
                // reflective setValue calls, called directly. It finds Concept.setCodes(Iterable) only after a failed
                // exact lookup, an exception and a copy of every public method, on every call (it caches exact hits only).
                Supplier<Object> make = SYSTEM_TYPES.get(classType);
                BiConsumer<Object, Object>[] set = Arrays.stream(names).map(setters::get).toArray(BiConsumer[]::new);
                return (r, l) -> {
                    Object object = make.get();
                    for (int i = 0; i < n; i++) {
                        set[i].accept(object, values[i].eval(r, l));
                    }
                    return object;
                };
            }
            return (r, l) -> {
                Object object = r.env.createInstance(classType);
                for (int i = 0; i < n; i++) {
                    r.env.setValue(object, names[i], values[i].eval(r, l));
                }
                return object;
            };
        }
        if (e instanceof Retrieve ret) {
            return retrieve(ret, u, s);
        }
        if (e instanceof ValueSetRef ref) {
            ValueSet vs = valueSet(ref, u);
            if (Boolean.TRUE.equals(ref.isPreserve())) {
                return (r, l) -> copy(vs);
            }
            return (r, l) -> r.env.getTerminologyProvider().expand(ValueSetInfo.fromValueSet(copy(vs)));
        }
        if (e instanceof InValueSet in) {
            Node code = compile(in.getCode(), u, s);
            if (in.getValueset() != null) {
                ValueSet vs = valueSet(in.getValueset(), u);
                return (r, l) -> InValueSetEvaluator.inValueSet(code.eval(r, l), copy(vs), r.state);
            }
            Node vs = compile(in.getValuesetExpression(), u, s);
            return (r, l) -> InValueSetEvaluator.inValueSet(code.eval(r, l), vs.eval(r, l), r.state);
        }
        if (e instanceof ParameterRef ref) {
            Unit target = referenced(ref.getLibraryName(), u);
            ParamSlot p = target.params.get(ref.getName());
            if (p == null) {
                throw new UnsupportedElm("unresolved parameter " + ref.getName());
            }
            return (r, l) -> value(p, r);
        }
        if (e instanceof CodeRef ref) {
            Unit target = referenced(ref.getLibraryName(), u);
            CodeDef cd = target.library.getCodes().getDef().stream()
                    .filter(d -> d.getName().equals(ref.getName())).findFirst()
                    .orElseThrow(() -> new UnsupportedElm("unresolved code " + ref.getName()));
            CodeSystem cs = codeSystem(cd.getCodeSystem(), target);
            return (r, l) -> CodeRefEvaluator.toCode(cd, cs);
        }
        if (e instanceof Coalesce c) {
            Node[] operands = compileAll(c.getOperand(), u, s);
            return (r, l) -> {
                List<Object> values = new ArrayList<>(operands.length);
                for (Node n : operands) {
                    values.add(n.eval(r, l));
                }
                return CoalesceEvaluator.coalesce(values);
            };
        }
        if (e instanceof In x) {
            String precision = x.getPrecision() != null ? x.getPrecision().value() : null;
            Node left = compile(x.getOperand().get(0), u, s);
            Node right = compile(x.getOperand().get(1), u, s);
            return (r, l) -> InEvaluator.internalEvaluate(left.eval(r, l), right.eval(r, l), precision, r.state);
        }
        if (e instanceof DurationBetween x) {
            Precision precision = Precision.fromString(x.getPrecision().value());
            return binaryState(x.getOperand(), u, s, (a, b, st) -> DurationBetweenEvaluator.duration(a, b, precision));
        }
        if (e instanceof Max x) {
            Node source = compile(x.getSource(), u, s);
            return (r, l) -> MaxEvaluator.max(source.eval(r, l), r.state);
        }
        if (e instanceof Min x) {
            Node source = compile(x.getSource(), u, s);
            return (r, l) -> MinEvaluator.min(source.eval(r, l), r.state);
        }
        if (e instanceof Count x) {
            return unary(x.getSource(), u, s, CountEvaluator::count);
        }
        if (e instanceof First x) {
            return unary(x.getSource(), u, s, FirstEvaluator::first);
        }
        if (e instanceof Last x) {
            return unary(x.getSource(), u, s, LastEvaluator::last);
        }
        if (e instanceof Distinct x) {
            Node operand = compile(x.getOperand(), u, s);
            return (r, l) -> distinct((Iterable<?>) operand.eval(r, l), r.state);
        }
        if (e instanceof Today) {
            return (r, l) -> r.today();
        }
        if (e instanceof Now) {
            return (r, l) -> r.now();
        }
        if (e instanceof DateTimeComponentFrom x) {
            String precision = x.getPrecision().value();
            return unary(x.getOperand(), u, s, v -> DateTimeComponentFromEvaluator.dateTimeComponentFrom(v, precision));
        }
        if (e instanceof CalculateAge x) {
            String precision = x.getPrecision().value();
            Node operand = compile(x.getOperand(), u, s);
            return (r, l) -> CalculateAgeEvaluator.internalEvaluate(operand.eval(r, l), precision, r.state);
        }
        if (e instanceof Round x) {
            Node operand = compile(x.getOperand(), u, s);
            Node precision = x.getPrecision() == null ? null : compile(x.getPrecision(), u, s);
            return (r, l) -> RoundEvaluator.round(operand.eval(r, l), precision == null ? null : precision.eval(r, l));
        }
        if (e instanceof Combine x) {
            Node source = compile(x.getSource(), u, s);
            Node separator = x.getSeparator() == null ? null : compile(x.getSeparator(), u, s);
            return (r, l) -> CombineEvaluator.combine(source.eval(r, l),
                    separator == null ? "" : (String) separator.eval(r, l));
        }
        throw new UnsupportedElm(e.getClass().getSimpleName());
    }

    private static Object convertQuantity(Object quantity, Object unit, State state) {
        var ucum = state.getEnvironment().getLibraryManager().getUcumService();
        if (ucum instanceof CachingUcumService caching && quantity instanceof Quantity q && q.getValue() != null
                && q.getUnit() != null && unit instanceof String target) {
            BigDecimal converted = caching.convertByFactor(q.getValue(), q.getUnit(), target);
            if (converted != null) {
                return new Quantity().withValue(converted).withUnit(target);
            }
        }
        return ConvertQuantityEvaluator.convertQuantity(quantity, unit, ucum);
    }

    private Node[] compileAll(List<? extends Expression> expressions, Unit u, Scope s) {
        Node[] nodes = new Node[expressions.size()];
        for (int i = 0; i < nodes.length; i++) {
            nodes[i] = compile(expressions.get(i), u, s);
        }
        return nodes;
    }

    private Node unary(Expression operand, Unit u, Scope s, UnaryOperator<Object> op) {
        Node n = compile(operand, u, s);
        return (r, l) -> op.apply(n.eval(r, l));
    }

    @FunctionalInterface
    private interface StateOp {
        Object apply(Object left, Object right, State state);
    }

    private Node binaryState(List<Expression> operands, Unit u, Scope s, StateOp op) {
        if (operands.size() != 2) {
            throw new UnsupportedElm("an operator of " + operands.size() + " operands");
        }
        Node left = compile(operands.get(0), u, s);
        Node right = compile(operands.get(1), u, s);
        return (r, l) -> {
            Object a = left.eval(r, l);
            return op.apply(a, right.eval(r, l), r.state);
        };
    }

    private Node caseOf(Case c, Unit u, Scope s) {
        int n = c.getCaseItem().size();
        Node[] when = new Node[n];
        Node[] then = new Node[n];
        for (int i = 0; i < n; i++) {
            when[i] = compile(c.getCaseItem().get(i).getWhen(), u, s);
            then[i] = compile(c.getCaseItem().get(i).getThen(), u, s);
        }
        Node otherwise = compile(c.getElse(), u, s);
        if (c.getComparand() == null) {
            return (r, l) -> {
                for (int i = 0; i < n; i++) {
                    Object w = when[i].eval(r, l);
                    if (w != null && (Boolean) w) {
                        return then[i].eval(r, l);
                    }
                }
                return otherwise.eval(r, l);
            };
        }
        Node comparand = compile(c.getComparand(), u, s);
        // A string against string literals: what EquivalentEvaluator answers for two strings (equalsIgnoreCase),
        // without its chain of interface checks.
        String[] literal = new String[n];
        for (int i = 0; i < n; i++) {
            if (c.getCaseItem().get(i).getWhen() instanceof Literal lit && lit.getValueType() != null
                    && "String".equals(lit.getValueType().getLocalPart())) {
                literal[i] = lit.getValue();
            }
        }
        return (r, l) -> {
            Object value = comparand.eval(r, l);
            for (int i = 0; i < n; i++) {
                if (literal[i] != null && value instanceof String text) {
                    if (text.equalsIgnoreCase(literal[i])) {
                        return then[i].eval(r, l);
                    }
                    continue;
                }
                Boolean check = EquivalentEvaluator.equivalent(value, when[i].eval(r, l), r.state);
                if (check != null && check) {
                    return then[i].eval(r, l);
                }
            }
            return otherwise.eval(r, l);
        };
    }

    private Node functionCall(FunctionRef ref, Unit u, Scope s) {
        Unit target = referenced(ref.getLibraryName(), u);
        List<FunctionDef> candidates = target.functions.getOrDefault(ref.getName(), List.of());
        if (ref.getSignature().isEmpty() && !ref.getOperand().isEmpty()) {
            throw new UnsupportedElm("call without signature " + ref.getName());
        }
        List<FunctionDef> matching = new ArrayList<>();
        for (FunctionDef f : candidates) {
            if (signatureMatches(f, ref.getSignature())) {
                matching.add(f);
            }
        }
        if (matching.size() != 1) {
            throw new UnsupportedElm(matching.size() + " definitions match call " + ref.getName());
        }
        FunctionDef f = matching.get(0);
        if (Boolean.TRUE.equals(f.isExternal())) {
            throw new UnsupportedElm("call to external function " + ref.getName());
        }
        Body body = functionBodies.get(f);
        if (body.node == null && compiling.add(f)) {
            // Functions are compiled when first called (FHIRHelpers has many the project never calls).
            List<String> operands = new ArrayList<>();
            f.getOperand().forEach(o -> operands.add(o.getName()));
            compileBody(body, target, f.getExpression(), operands);
        }
        Node[] args = compileAll(ref.getOperand(), u, s);
        int arity = args.length;
        // The body is compiled after every call site exists (calls may come first); read it at call time.
        return (r, l) -> {
            Object[] locals = new Object[body.locals];
            for (int i = 0; i < arity; i++) {
                locals[i] = args[i].eval(r, l);
            }
            return body.node.eval(r, locals);
        };
    }

    private static boolean signatureMatches(FunctionDef f, List<TypeSpecifier> signature) {
        if (f.getOperand().size() != signature.size()) {
            return false;
        }
        for (int i = 0; i < signature.size(); i++) {
            OperandDef operand = f.getOperand().get(i);
            TypeSpecifier wanted = signature.get(i);
            boolean same = operand.getOperandTypeSpecifier() != null
                    ? SimpleElmEvaluator.typeSpecifiersEqual(operand.getOperandTypeSpecifier(), wanted)
                    : wanted instanceof NamedTypeSpecifier named
                            && SimpleElmEvaluator.qnamesEqual(operand.getOperandType(), named.getName());
            if (!same) {
                return false;
            }
        }
        return true;
    }

    private Node property(Property p, Unit u, Scope s) {
        String path = p.getPath();
        Node source;
        if (p.getSource() != null) {
            source = compile(p.getSource(), u, s);
        } else if (p.getScope() != null) {
            int slot = s.slot(p.getScope());
            source = (r, l) -> l[slot];
        } else {
            return (r, l) -> null;
        }
        PropertyRead read = new PropertyRead(path);
        return (r, l) -> {
            Object target = source.eval(r, l);
            if (target instanceof ArrayTuple t) {
                return read.element(t);
            }
            if (target instanceof Tuple t) {
                return t.getElement(path); // what the environment's system data provider answers for a tuple
            }
            return target == null ? null : read.read(r, target);
        };
    }

    /**
     * One property read site with the readers of the few classes it has seen (a site sees one class, or a
     * handful for a choice): FHIR model objects read by the model resolver's per-class reader, anything
     * else as the environment resolves it.
     */
    private final class PropertyRead {
        private final String path;
        private volatile Object[] seen = new Object[0]; // class, reader, class, reader...; copied on change
        private volatile ShapeSeen shapeSeen = new ShapeSeen(null, -1); // the last tuple shape read here

        PropertyRead(String path) {
            this.path = path.intern();
        }

        /** A compiled tuple's element: its position is found once per shape the site meets (usually one). */
        Object element(ArrayTuple t) {
            ShapeSeen last = shapeSeen;
            if (last.shape != t.shape) {
                last = new ShapeSeen(t.shape, t.shape.indexOf(path));
                shapeSeen = last;
            }
            return last.index < 0 ? null : t.values[last.index];
        }

        Object read(Run r, Object target) {
            Class<?> type = target.getClass();
            Object[] known = seen;
            for (int i = 0; i < known.length; i += 2) {
                if (known[i] == type) {
                    @SuppressWarnings("unchecked")
                    UnaryOperator<Object> reader = (UnaryOperator<Object>) known[i + 1];
                    return reader == null ? r.env.resolvePath(target, path) : reader.apply(target);
                }
            }
            UnaryOperator<Object> reader = inFhirModel.get(type) && fhirModel instanceof FastR4ModelResolver fast
                    ? fast.pathReader(target, path)
                    : null;
            if (known.length < 16) {
                Object[] more = java.util.Arrays.copyOf(known, known.length + 2);
                more[known.length] = type;
                more[known.length + 1] = reader;
                seen = more;
            }
            return reader == null ? r.env.resolvePath(target, path) : reader.apply(target);
        }
    }

    private record ShapeSeen(ArrayTuple.Shape shape, int index) {}

    /** Only inside a sort's by-expression: a name read from the element being sorted. */
    private Node identifier(IdentifierRef id, Scope s) {
        if (!s.has("$this")) {
            throw new UnsupportedElm("identifier " + id.getName() + " outside a sort");
        }
        int slot = s.slot("$this");
        String name = id.getName();
        return (r, l) -> element(r, l[slot], name);
    }

    /** A tuple's element, or a property as the environment resolves it: names in sorts and identifiers. */
    private static Object element(Run r, Object target, String name) {
        if (target instanceof Tuple t) {
            return t.getElement(name);
        }
        return target == null ? null : r.env.resolvePath(target, name);
    }

    private Node query(Query q, Unit u, Scope s) {
        if (q.getSource().size() != 1 || !q.getRelationship().isEmpty() || q.getAggregate() != null) {
            throw new UnsupportedElm("query with several sources, a relationship or an aggregate");
        }
        AliasedQuerySource source = q.getSource().get(0);
        Node sourceNode = compile(source.getExpression(), u, s);
        int aliasSlot = s.bind(source.getAlias());
        int letCount = q.getLet().size();
        int[] letSlots = new int[letCount];
        Node[] lets = new Node[letCount];
        for (int i = 0; i < letCount; i++) {
            LetClause let = q.getLet().get(i);
            lets[i] = compile(let.getExpression(), u, s); // a let sees the alias and the lets before it
            letSlots[i] = s.bind(let.getIdentifier());
        }
        Node where = q.getWhere() == null ? null : compile(q.getWhere(), u, s);
        Node ret = q.getReturn() == null ? null : compile(q.getReturn().getExpression(), u, s);
        boolean distinct = q.getReturn() != null && q.getReturn().isDistinct();
        List<SortStep> sort = new ArrayList<>();
        if (q.getSort() != null) {
            for (SortByItem item : q.getSort().getBy()) {
                sort.add(sortStep(item, u, s));
            }
        }
        s.unbind(1 + letCount);
        DateRange range = letCount == 0 && q.getWhere() != null
                ? dateRange(q.getWhere(), source.getAlias(), u, s) : null;
        // Sorted by one column, ascending: range queries on that column may use the list's index.
        String sortedBy = sort.size() == 1 && sort.get(0).kind() == 1 && !sort.get(0).descending()
                ? sort.get(0).path() : null;
        return (r, l) -> {
            Object data = sourceNode.eval(r, l);
            boolean sourceIsList = data instanceof Iterable;
            List<Object> result;
            Iterable<?> elements = sourceIsList ? (Iterable<?>) data
                    : data == null ? List.of() : Collections.singletonList(data);
            if (range != null && data instanceof ColumnSortedList sorted && sorted.column.equals(range.column)) {
                elements = sorted.candidates(range.low() != null, range.low() == null ? null : range.low().eval(r, l),
                        range.high() != null, range.high() == null ? null : range.high().eval(r, l), r.state);
            }
            result = new ArrayList<>();
            for (Object element : elements) {
                l[aliasSlot] = element;
                for (int i = 0; i < letCount; i++) {
                    l[letSlots[i]] = lets[i].eval(r, l);
                }
                if (where == null || Boolean.TRUE.equals(where.eval(r, l))) {
                    result.add(ret != null ? ret.eval(r, l) : element);
                }
            }
            if (distinct) {
                result = distinct(result, r.state);
            }
            for (SortStep step : sort) {
                step.sort(result, r, l);
                if (step.descending) {
                    Collections.reverse(result);
                }
            }
            if (!sourceIsList) {
                return result.isEmpty() ? null : result.get(0);
            }
            return sortedBy != null ? new ColumnSortedList(sortedBy, result) : result;
        };
    }

    /**
     * The engine's distinct, which compares each element with every one kept (quadratic in a list of
     * days). When every element is a Date to the day, two are equal exactly when their days are, so one
     * pass over a set of the days keeps the same first occurrences in the same order.
     */
    static List<Object> distinct(Iterable<?> source, State state) {
        if (source == null) {
            return DistinctEvaluator.distinct(source, state);
        }
        Set<java.time.LocalDate> days = new java.util.HashSet<>();
        List<Object> kept = new ArrayList<>();
        for (Object element : source) {
            if (!ColumnSortedList.isDay(element)) {
                return DistinctEvaluator.distinct(source, state);
            }
            if (days.add(((org.opencds.cqf.cql.engine.runtime.Date) element).getDate())) {
                kept.add(element);
            }
        }
        return kept;
    }

    // ---------------------------------------------------------------- date ranges over sorted lists

    /**
     * A where clause that can only be true for elements whose {@code column} is {@code >= low} and
     * {@code <= high} (either bound may be absent): each bound is a conjunct of the where's and-tree
     * (or of the condition of an {@code if} whose else is false or null), comparing the alias's column
     * with an expression that cannot depend on the element (an operand, parameter, definition or literal).
     */
    private record DateRange(String column, Node low, Node high) {}

    private DateRange dateRange(Expression where, String alias, Unit u, Scope s) {
        Expression conditions = where;
        if (where instanceof If i && (i.getElse() instanceof Null
                || i.getElse() instanceof Literal lit && "false".equals(lit.getValue()))) {
            conditions = i.getCondition();
        }
        List<Expression> conjuncts = new ArrayList<>();
        conjuncts(conditions, conjuncts);
        String column = null;
        Expression low = null;
        Expression high = null;
        for (Expression c : conjuncts) {
            if (c instanceof GreaterOrEqual || c instanceof LessOrEqual || c instanceof Equal) {
                List<Expression> operands = ((BinaryExpression) c).getOperand();
                int side = c instanceof Equal && aliasColumn(operands.get(0), alias) == null ? 1 : 0;
                String col = aliasColumn(operands.get(side), alias);
                Expression bound = operands.get(1 - side);
                if (col == null || !independent(bound, alias) || (column != null && !column.equals(col))) {
                    continue;
                }
                column = col;
                // Equal to a day-precision date can only be true where >= and <= both are.
                if ((c instanceof GreaterOrEqual || c instanceof Equal) && low == null) {
                    low = bound;
                }
                if ((c instanceof LessOrEqual || c instanceof Equal) && high == null) {
                    high = bound;
                }
            }
        }
        if (column == null) {
            return null;
        }
        return new DateRange(column, low == null ? null : compile(low, u, s), high == null ? null : compile(high, u, s));
    }

    private static void conjuncts(Expression e, List<Expression> out) {
        if (e instanceof And and) {
            and.getOperand().forEach(o -> conjuncts(o, out));
        } else {
            out.add(e);
        }
    }

    private static String aliasColumn(Expression e, String alias) {
        if (e instanceof Property p && p.getPath().indexOf('.') < 0) {
            if (alias.equals(p.getScope()) || p.getSource() instanceof AliasRef a && alias.equals(a.getName())) {
                return p.getPath();
            }
        }
        return null;
    }

    /**
     * Whether {@code e} has one value for all the elements of the query over {@code alias}: an operand,
     * parameter, definition or literal, or an outer query's alias and the properties read from it.
     */
    private static boolean independent(Expression e, String alias) {
        if (e instanceof AliasRef a) {
            return !alias.equals(a.getName());
        }
        if (e instanceof Property p && p.getPath().indexOf('.') < 0) {
            return p.getScope() != null ? !alias.equals(p.getScope()) : p.getSource() != null && independent(p.getSource(), alias);
        }
        return e instanceof OperandRef || e instanceof ParameterRef || e instanceof Literal
                || (e instanceof ExpressionRef && !(e instanceof FunctionRef));
    }

    /**
     * The result of a query sorted by one column, ascending; with, built on first use, an index of the
     * elements whose column is a Date to the day (in list order, which is date order). A range query
     * over the list visits the indexed elements inside the range (binary search) and every element not
     * indexed, in list order: exactly the elements for which the range's comparisons can be true, so
     * the query's where (still evaluated on each) keeps exactly the rows a full scan would keep.
     */
    static final class ColumnSortedList extends ArrayList<Object> {
        final String column;
        /**
         * Built on first use; null: not
         * built yet, {@link #UNUSABLE}: the list cannot be indexed.
         */
        private Index index;

        /** Positions of the day-precision dates, ascending, with those dates; the positions not indexed. */
        private record Index(int[] indexed, org.opencds.cqf.cql.engine.runtime.Date[] keys, int[] others) {}

        private static final Index UNUSABLE = new Index(null, null, null);

        ColumnSortedList(String column, List<Object> sorted) {
            super(sorted);
            this.column = column;
        }

        /** The elements a query with these bounds on the column must look at, in list order. */
        Iterable<?> candidates(boolean hasLow, Object low, boolean hasHigh, Object high, State state) {
            if ((hasLow && !isDay(low)) || (hasHigh && !isDay(high))) {
                return this;
            }
            Index x = index(state);
            if (x == UNUSABLE) {
                return this;
            }
            int from = hasLow ? firstTrue(x.keys, low, state, true) : 0;
            int to = hasHigh ? firstTrue(x.keys, high, state, false) : x.indexed.length;
            int[] positions = new int[Math.max(0, to - from) + x.others.length];
            int n = 0;
            for (int i = from; i < to; i++) {
                positions[n++] = x.indexed[i];
            }
            if (x.others.length > 0) {
                for (int p : x.others) {
                    positions[n++] = p;
                }
                java.util.Arrays.sort(positions, 0, n);
            }
            List<Object> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(get(positions[i]));
            }
            return out;
        }

        /**
         * With {@code lowBound}: the first indexed position whose key {@code >= bound} is true. Else the
         * first whose key {@code <= bound} is false (so positions before it are those <= bound). The
         * engine's own comparison operators decide; on day-precision dates they are total and monotone.
         */
        private static int firstTrue(org.opencds.cqf.cql.engine.runtime.Date[] keys, Object bound, State state,
                boolean lowBound) {
            int lo = 0;
            int hi = keys.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                boolean past = lowBound
                        ? Boolean.TRUE.equals(GreaterOrEqualEvaluator.greaterOrEqual(keys[mid], bound, state))
                        : !Boolean.TRUE.equals(LessOrEqualEvaluator.lessOrEqual(keys[mid], bound, state));
                if (past) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            return lo;
        }

        private Index index(State state) {
            Index x = index;
            if (x == null) {
                x = buildIndex(state); // two threads may both build it: the same index
                index = x;
            }
            return x;
        }

        private Index buildIndex(State state) {
            int[] pos = new int[size()];
            org.opencds.cqf.cql.engine.runtime.Date[] k = new org.opencds.cqf.cql.engine.runtime.Date[size()];
            int[] rest = new int[size()];
            int n = 0;
            int m = 0;
            for (int i = 0; i < size(); i++) {
                if (!(get(i) instanceof Tuple t)) {
                    return UNUSABLE;
                }
                Object v = t.getElement(column);
                if (isDay(v)) {
                    org.opencds.cqf.cql.engine.runtime.Date d = (org.opencds.cqf.cql.engine.runtime.Date) v;
                    // Dates to the day must be in order, each comparison definite, or no index at all.
                    if (n > 0 && !Boolean.TRUE.equals(LessOrEqualEvaluator.lessOrEqual(k[n - 1], d, state))) {
                        return UNUSABLE;
                    }
                    pos[n] = i;
                    k[n++] = d;
                } else {
                    rest[m++] = i;
                }
            }
            return new Index(java.util.Arrays.copyOf(pos, n), java.util.Arrays.copyOf(k, n), java.util.Arrays.copyOf(rest, m));
        }

        static boolean isDay(Object v) {
            return v instanceof org.opencds.cqf.cql.engine.runtime.Date d && d.getPrecision() == Precision.DAY;
        }
    }

    private record SortStep(int kind, String path, Node by, int thisSlot, boolean descending) {
        /**
         * Sorts ascending, as the engine's comparator would: by value, or by a key read (a column) or
         * computed (an expression) once per element rather than twice per comparison. The keys are
         * pure functions of the element, so the comparisons, and the stable sort's order, are the same.
         */
        void sort(List<Object> list, Run r, Object[] l) {
            CqlList values = new CqlList();
            int n = list.size();
            if (kind == 0 || n < 2) { // with two or more, every element takes part in a comparison either way
                list.sort(kind == 0 ? values.valueSort : (a, b) -> values.compareTo(key(a, r, l), key(b, r, l)));
                return;
            }
            Object[][] keyed = new Object[n][];
            for (int i = 0; i < n; i++) {
                Object element = list.get(i);
                keyed[i] = new Object[] {key(element, r, l), element};
            }
            java.util.Arrays.sort(keyed, (a, b) -> values.compareTo(a[0], b[0]));
            for (int i = 0; i < n; i++) {
                list.set(i, keyed[i][1]);
            }
        }

        private Object key(Object element, Run r, Object[] l) {
            if (kind == 1) {
                return element(r, element, path);
            }
            l[thisSlot] = element;
            return by.eval(r, l);
        }
    }

    private SortStep sortStep(SortByItem item, Unit u, Scope s) {
        String dir = item.getDirection().value();
        boolean desc = dir.equals("desc") || dir.equals("descending");
        if (item instanceof ByColumn col) {
            return new SortStep(1, col.getPath(), null, -1, desc);
        }
        if (item instanceof ByExpression expr) {
            int slot = s.bind("$this");
            Node by = compile(expr.getExpression(), u, s);
            s.unbind(1);
            // The slot is released for later names; the sort runs after the query's rows are built.
            return new SortStep(2, null, by, slot, desc);
        }
        return new SortStep(0, null, null, -1, desc);
    }

    private Node retrieve(Retrieve ret, Unit u, Scope s) {
        if (ret.getContext() != null || ret.getDateRange() != null) {
            throw new UnsupportedElm("retrieve with a context or a date range");
        }
        QName dataType = types.fixupQName(ret.getDataType());
        String typeName = dataType.getLocalPart();
        DataProvider provider = types.resolveDataProvider(dataType);
        String contextPath = (String) provider.getContextPath("Patient", typeName);
        String templateId = ret.getTemplateId();
        String codeProperty = ret.getCodeProperty();
        String dateProperty = ret.getDateProperty();
        String dateLow = ret.getDateLowProperty();
        String dateHigh = ret.getDateHighProperty();
        if (ret.getCodes() == null) {
            return (r, l) -> r.fhir.retrieve("Patient", contextPath, r.contextValue, typeName, templateId, codeProperty,
                    null, null, dateProperty, dateLow, dateHigh, null);
        }
        if (ret.getCodes() instanceof ValueSetRef ref) {
            String valueSetId = valueSet(ref, u).getId();
            return (r, l) -> r.fhir.retrieve("Patient", contextPath, r.contextValue, typeName, templateId, codeProperty,
                    null, valueSetId, dateProperty, dateLow, dateHigh, null);
        }
        Node codesNode = compile(ret.getCodes(), u, s);
        return (r, l) -> {
            Object codes = codesNode.eval(r, l);
            String valueSetId = null;
            Iterable<Code> codeList = null;
            if (codes instanceof ValueSet vs) {
                valueSetId = vs.getId();
            } else if (codes instanceof String code) {
                codeList = List.of(new Code().withCode(code));
            } else if (codes instanceof Code code) {
                codeList = List.of(code);
            } else if (codes instanceof Concept concept) {
                List<Code> fromConcept = new ArrayList<>();
                concept.getCodes().forEach(fromConcept::add);
                codeList = fromConcept;
            } else {
                @SuppressWarnings("unchecked")
                Iterable<Code> list = (Iterable<Code>) codes;
                codeList = list;
            }
            return r.fhir.retrieve("Patient", contextPath, r.contextValue, typeName, templateId, codeProperty,
                    codeList, valueSetId, dateProperty, dateLow, dateHigh, null);
        };
    }

    private ValueSet valueSet(ValueSetRef ref, Unit u) {
        Unit target = referenced(ref.getLibraryName(), u);
        ValueSetDef def = target.library.getValueSets().getDef().stream()
                .filter(d -> d.getName().equals(ref.getName())).findFirst()
                .orElseThrow(() -> new UnsupportedElm("unresolved value set " + ref.getName()));
        ValueSet vs = new ValueSet().withId(def.getId()).withVersion(def.getVersion());
        for (CodeSystemRef csr : def.getCodeSystem()) {
            vs.addCodeSystem(codeSystem(csr, target));
        }
        return vs;
    }

    /** A fresh ValueSet per use, as the engine builds one per reference (the runtime type is mutable). */
    private static ValueSet copy(ValueSet vs) {
        ValueSet c = new ValueSet().withId(vs.getId()).withVersion(vs.getVersion());
        vs.getCodeSystems().forEach(c::addCodeSystem);
        return c;
    }

    private CodeSystem codeSystem(CodeSystemRef ref, Unit u) {
        Unit target = referenced(ref.getLibraryName(), u);
        CodeSystemDef def = target.library.getCodeSystems().getDef().stream()
                .filter(d -> d.getName().equals(ref.getName())).findFirst()
                .orElseThrow(() -> new UnsupportedElm("unresolved code system " + ref.getName()));
        return new CodeSystem().withId(def.getId()).withVersion(def.getVersion()).withName(def.getName());
    }
}
