package org.allcds.cds.fhirdata;

/**
 * FHIR's id type ({@code [A-Za-z0-9\-\.]{1,64}}), minus {@code .} and {@code ..}, which the type lets through but
 * which are path segments in a URL: {@code Patient/..} would read another resource than the one named.
 */
public final class FhirIds {

    private FhirIds() {
    }

    public static boolean isId(String id) {
        if (id == null || id.isEmpty() || id.length() > 64 || id.equals(".") || id.equals("..")) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
                return false;
            }
        }
        return true;
    }
}
