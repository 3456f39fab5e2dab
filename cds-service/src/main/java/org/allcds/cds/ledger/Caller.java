package org.allcds.cds.ledger;

/**
 * Who called, as the ledger records it: the verified JWT's {@code iss} and {@code sub}, or {@code demo} when no
 * token was verified (authentication off).
 */
public record Caller(String issuer, String subject) {

    public static final Caller DEMO = new Caller(null, null);

    public String label() {
        if (issuer == null) {
            return "demo";
        }
        return subject == null ? issuer : issuer + " " + subject;
    }
}
