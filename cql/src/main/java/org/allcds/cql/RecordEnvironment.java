package org.allcds.cql;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.cqframework.cql.cql2elm.LibraryManager;
import org.hl7.elm.r1.Library;
import org.hl7.elm.r1.VersionedIdentifier;
import org.opencds.cqf.cql.engine.data.DataProvider;
import org.opencds.cqf.cql.engine.execution.Environment;
import org.opencds.cqf.cql.engine.terminology.TerminologyProvider;

/**
 * The engine's environment for one evaluation. The stock {@code resolvePath} (every property read in
 * CQL) finds the data provider from {@code target.getClass().getPackage().getName()}, and
 * {@code Class.getPackage()} is a map lookup inside the class loader on every call; the package name
 * of a class never changes, so it is kept per class. And every call into another library (FHIRHelpers,
 * ALLCommon) resolves that library by a VersionedIdentifier built anew, hashed and compared through
 * JAXB strategies; the libraries are loaded once at start-up, so the answer is kept in
 * {@link LoadedLibraries}, shared by all evaluations. Everything else is the stock environment.
 */
final class RecordEnvironment extends Environment {

    private static final ClassValue<String> PACKAGE_NAME = new ClassValue<>() {
        @Override
        protected String computeValue(Class<?> type) {
            return type.getPackage().getName();
        }
    };

    private final LoadedLibraries libraries;

    RecordEnvironment(LibraryManager libraryManager, Map<String, DataProvider> dataProviders,
            TerminologyProvider terminologyProvider, LoadedLibraries libraries) {
        super(libraryManager, dataProviders, terminologyProvider);
        this.libraries = libraries;
    }

    @Override
    public Library resolveLibrary(VersionedIdentifier identifier) {
        return libraries.byKey.computeIfAbsent(
                new LibraryKey(identifier.getSystem(), identifier.getId(), identifier.getVersion()),
                k -> super.resolveLibrary(identifier));
    }

    /** The libraries of one library manager, by identifier, for every evaluation over it. */
    static final class LoadedLibraries {
        private final Map<LibraryKey, Library> byKey = new ConcurrentHashMap<>();
    }

    private record LibraryKey(String system, String id, String version) {}

    @Override
    public Object resolvePath(Object target, String path) {
        if (target == null) {
            return null;
        }
        if (target instanceof ArrayTuple t) {
            return t.getElement(path); // what the system data provider answers for any Tuple (its package is ours)
        }
        String packageName = PACKAGE_NAME.get(target.getClass());
        if (packageName.startsWith("java.lang")) {
            return super.resolvePath(target, path); // the engine's own error for a path on a primitive
        }
        return resolveDataProvider(packageName).resolvePath(target, path);
    }
}
