package org.allcds.cds.ledger;

import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCardJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseSuggestionJson;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;
import org.allcds.cds.cards.AllCdsCardExtension;

/**
 * What the ledger keeps of one card: read off the built card on the hook path (a few fields), written later.
 *
 * @param evidence    the card's evidence references, sorted and distinct
 * @param evidenceKey SHA-256 (hex) of {@code evidence}: the same card for the same patient and topic has the same key
 */
public record IssuedCard(String uuid, String topic, String indicator, List<String> evidence, String evidenceKey,
        List<Suggestion> suggestions) {

    public record Suggestion(String uuid, String label) {}

    public static IssuedCard of(CdsServiceResponseCardJson card) {
        List<String> evidence = evidenceOf(card);
        List<Suggestion> suggestions = new ArrayList<>();
        if (card.getSuggestions() != null) {
            for (CdsServiceResponseSuggestionJson s : card.getSuggestions()) {
                if (s.getUuid() != null) {
                    suggestions.add(new Suggestion(s.getUuid(), s.getLabel() == null ? "" : s.getLabel()));
                }
            }
        }
        String topic = card.getSource() == null || card.getSource().getTopic() == null ? "" : card.getSource().getTopic().getCode();
        return new IssuedCard(card.getUuid(), topic, card.getIndicator() == null ? "" : card.getIndicator().name().toLowerCase(),
                evidence, evidenceKey(evidence), List.copyOf(suggestions));
    }

    static List<String> evidenceOf(CdsServiceResponseCardJson card) {
        TreeSet<String> sorted = new TreeSet<>();
        if (card.getExtension() instanceof AllCdsCardExtension extension && extension.allCds().get("evidence") instanceof List<?> list) {
            list.forEach(reference -> sorted.add(String.valueOf(reference)));
        }
        return List.copyOf(sorted);
    }

    static String evidenceKey(List<String> sortedEvidence) {
        MessageDigest digest = LogicVersion.sha256();
        for (String reference : sortedEvidence) {
            digest.update(reference.getBytes(StandardCharsets.UTF_8));
            digest.update((byte) '\n');
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
