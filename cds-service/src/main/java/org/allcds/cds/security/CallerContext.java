package org.allcds.cds.security;

import java.util.function.Supplier;

/**
 * The verified issuer of the hook call being handled, for the layers below the HTTP edge that must
 * decide on the caller's behalf (the fhirServer guard) without every signature in between carrying it.
 * Set only by {@link org.allcds.cds.hooks.HookHandler} around one call, from the value the
 * authentication filter verified; cleared afterwards. {@code null}: no verified caller (auth off, or a
 * call from inside the service such as the warm-up).
 */
public final class CallerContext {

    private static final ThreadLocal<String> ISSUER = new ThreadLocal<>();

    private CallerContext() {}

    public static <T> T callAs(String issuer, Supplier<T> work) {
        String previous = ISSUER.get();
        ISSUER.set(issuer);
        try {
            return work.get();
        } finally {
            if (previous == null) {
                ISSUER.remove();
            } else {
                ISSUER.set(previous);
            }
        }
    }

    /** The verified issuer of the current hook call, or {@code null}. */
    public static String issuer() {
        return ISSUER.get();
    }
}
