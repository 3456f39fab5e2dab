package org.allcds.cds.hooks;

import java.util.regex.Pattern;

/** The canonical textual UUID (8-4-4-4-12 hex digits), as CDS Hooks 2.0 uses for hookInstance, cards and suggestions. */
final class Uuids {

    // UUID.fromString is lenient ("1-1-1-1-1" passes): the canonical form is checked instead
    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private Uuids() {}

    static boolean isUuid(String text) {
        return text != null && text.length() == 36 && UUID.matcher(text).matches();
    }
}
