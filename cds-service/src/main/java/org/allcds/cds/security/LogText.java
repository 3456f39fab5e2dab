package org.allcds.cds.security;

/**
 * A value from a request made safe for one log line: quoted, control and line-breaking characters (including
 * U+0085, U+2028/9 and bidi overrides) and the quote and backslash written as escapes, at most {@code max}
 * characters of it kept. So whatever a caller sends, it can neither start a forged log line nor flood one.
 */
public final class LogText {

    private LogText() {}

    public static String quoted(String value, int max) {
        if (value == null) {
            return "null";
        }
        int keep = Math.min(value.length(), max);
        StringBuilder out = new StringBuilder(keep + 8).append('"');
        for (int i = 0; i < keep; i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                    || c == '\u2028' || c == '\u2029' || Character.isSurrogate(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
        if (value.length() > keep) {
            out.append("...(").append(value.length() - keep).append(" more)");
        }
        return out.toString();
    }
}
