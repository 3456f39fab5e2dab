package org.allcds.cds.ledger;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.allcds.cds.hooks.FeedbackRequest;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** The ledger's SQL (schema: db/migration). Every method is one transaction; a database error propagates. */
public class LedgerStore {

    private final JdbcTemplate jdbc;
    private final TransactionTemplate transaction;

    public LedgerStore(DataSource dataSource) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.transaction = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    /** The cards of one hook call, as answered. */
    public record IssuedCall(String serviceId, String hookInstance, String patientId, String caller, String logicVersion,
            Instant issuedAt, List<IssuedCard> cards) {}

    public void writeIssued(List<IssuedCall> calls) {
        List<Object[]> cards = new ArrayList<>();
        List<Object[]> suggestions = new ArrayList<>();
        for (IssuedCall call : calls) {
            for (IssuedCard card : call.cards()) {
                cards.add(new Object[] {card.uuid(), call.serviceId(), card.topic(), card.indicator(), call.hookInstance(),
                        call.patientId(), call.caller(), call.logicVersion(), String.join("\n", card.evidence()),
                        card.evidenceKey(), Timestamp.from(call.issuedAt())});
                for (IssuedCard.Suggestion s : card.suggestions()) {
                    suggestions.add(new Object[] {s.uuid(), card.uuid(), s.label()});
                }
            }
        }
        transaction.executeWithoutResult(status -> {
            jdbc.batchUpdate("insert into card_issued (card_uuid, service_id, topic, indicator, hook_instance, patient_id,"
                    + " caller, logic_version, evidence, evidence_key, issued_at)"
                    + " values (cast(? as uuid), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing", cards);
            jdbc.batchUpdate("insert into card_suggestion (suggestion_uuid, card_uuid, label)"
                    + " values (cast(? as uuid), cast(? as uuid), ?) on conflict do nothing", suggestions);
        });
    }

    /** The patient's already-addressed overrides: topic -> evidence key -> when (one primary-key range read). */
    public Map<String, Map<String, Instant>> addressed(String patientId) {
        Map<String, Map<String, Instant>> byTopic = new HashMap<>();
        jdbc.query("select topic, evidence_key, addressed_at from card_suppression where patient_id = ?",
                rs -> {
                    byTopic.computeIfAbsent(rs.getString(1), t -> new HashMap<>())
                            .put(rs.getString(2), rs.getTimestamp(3).toInstant());
                }, patientId);
        return byTopic;
    }

    /** A card this service issued, as feedback needs it; null when it never was. */
    public record KnownCard(String uuid, String patientId, String topic, String evidenceKey, Set<String> suggestions) {}

    public KnownCard card(String serviceId, String cardUuid) {
        List<KnownCard> found = jdbc.query("select patient_id, topic, evidence_key from card_issued"
                        + " where card_uuid = cast(? as uuid) and service_id = ?",
                (rs, row) -> new KnownCard(cardUuid, rs.getString(1), rs.getString(2), rs.getString(3), new HashSet<>()),
                cardUuid, serviceId);
        if (found.isEmpty()) {
            return null;
        }
        KnownCard card = found.get(0);
        card.suggestions().addAll(jdbc.queryForList("select cast(suggestion_uuid as varchar) from card_suggestion"
                + " where card_uuid = cast(? as uuid)", String.class, cardUuid));
        return card;
    }

    /**
     * Stores the checked feedback items, each against its card, in one transaction; an item already stored (same
     * card, outcome and outcome time) is not stored again.
     *
     * @return how many items were new
     */
    public int writeFeedback(List<FeedbackRequest.Item> items, Map<String, KnownCard> cards, String caller, Instant receivedAt) {
        return transaction.execute(status -> {
            int stored = 0;
            for (FeedbackRequest.Item item : items) {
                String reason = item.overrideReason() == null || item.overrideReason().reason() == null ? null
                        : item.overrideReason().reason().code();
                String comment = item.overrideReason() == null ? null : item.overrideReason().userComment();
                List<Long> ids = jdbc.queryForList("insert into card_feedback (card_uuid, outcome, outcome_at, override_reason,"
                        + " override_comment, caller, received_at) values (cast(? as uuid), ?, ?, ?, ?, ?, ?)"
                        + " on conflict (card_uuid, outcome, outcome_at) do nothing returning id", Long.class,
                        item.card(), item.outcome().name().toLowerCase(), Timestamp.from(item.outcomeTimestamp()), reason,
                        comment, caller, Timestamp.from(receivedAt));
                if (ids.isEmpty()) {
                    continue; // sent before: stored once
                }
                stored++;
                for (String suggestion : item.acceptedSuggestions()) {
                    jdbc.update("insert into feedback_accepted_suggestion (feedback_id, suggestion_uuid)"
                            + " values (?, cast(? as uuid)) on conflict do nothing", ids.get(0), suggestion);
                }
                if (CardLedger.ALREADY_ADDRESSED.equals(reason)) {
                    KnownCard card = cards.get(item.card());
                    jdbc.update("insert into card_suppression (patient_id, topic, evidence_key, addressed_at) values (?, ?, ?, ?)"
                            + " on conflict (patient_id, topic, evidence_key) do update"
                            + " set addressed_at = greatest(card_suppression.addressed_at, excluded.addressed_at)",
                            card.patientId(), card.topic(), card.evidenceKey(), Timestamp.from(item.outcomeTimestamp()));
                }
            }
            return stored;
        });
    }

    /**
     * Records a JWT id until {@code expiresAt}: true on its first use (or when its earlier row had expired), false
     * when the same issuer's token id is already recorded and unexpired (a replay, from any replica).
     */
    public boolean firstUseOfJwtId(String issuer, String jti, Instant expiresAt, Instant now) {
        return jdbc.update("insert into jwt_seen (issuer, jti, expires_at) values (?, ?, ?)"
                + " on conflict (issuer, jti) do update set expires_at = excluded.expires_at where jwt_seen.expires_at <= ?",
                issuer, jti, Timestamp.from(expiresAt), Timestamp.from(now)) == 1;
    }

    /** Deletes cards (their feedback with them) and suppressions older than {@code cutoff}, and expired JWT ids. */
    public int deleteExpired(Instant cutoff, Instant now) {
        return transaction.execute(status -> jdbc.update("delete from card_issued where issued_at < ?", Timestamp.from(cutoff))
                + jdbc.update("delete from card_suppression where addressed_at < ?", Timestamp.from(cutoff))
                + jdbc.update("delete from jwt_seen where expires_at <= ?", Timestamp.from(now)));
    }

    /** The cards (aliased c) with accepted feedback and those with overridden feedback: two columns of every count. */
    private static final String OUTCOME_COUNTS =
            " count(*) filter (where exists (select 1 from card_feedback f where f.card_uuid = c.card_uuid and f.outcome = 'accepted')),"
            + " count(*) filter (where exists (select 1 from card_feedback f where f.card_uuid = c.card_uuid and f.outcome = 'overridden'))";

    /** One row of the analytics per service and topic: cards issued in [from, to), and what was done with them. */
    public record TopicCounts(String service, String topic, long issued, long accepted, long overridden) {}

    public record ReasonCount(String service, String topic, String reason, long cards) {}

    public record SuggestionCount(String service, String topic, String label, long offered, long accepted) {}

    public List<TopicCounts> topicCounts(Instant from, Instant to) {
        return jdbc.query("select c.service_id, c.topic, count(*),"
                        + OUTCOME_COUNTS
                        + " from card_issued c where c.issued_at >= ? and c.issued_at < ? group by c.service_id, c.topic"
                        + " order by c.service_id, c.topic",
                (rs, row) -> new TopicCounts(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4), rs.getLong(5)),
                Timestamp.from(from), Timestamp.from(to));
    }

    /** Cards issued on one UTC day per service and topic, and what was done with them (the page's time axis). */
    public record DayCounts(String service, String topic, java.time.LocalDate day, long issued, long accepted, long overridden) {}

    public List<DayCounts> dayCounts(Instant from, Instant to) {
        return jdbc.query("select c.service_id, c.topic, cast(c.issued_at at time zone 'UTC' as date), count(*),"
                        + OUTCOME_COUNTS
                        + " from card_issued c where c.issued_at >= ? and c.issued_at < ? group by 1, 2, 3 order by 1, 2, 3",
                (rs, row) -> new DayCounts(rs.getString(1), rs.getString(2), rs.getObject(3, java.time.LocalDate.class),
                        rs.getLong(4), rs.getLong(5), rs.getLong(6)),
                Timestamp.from(from), Timestamp.from(to));
    }

    public List<ReasonCount> reasonCounts(Instant from, Instant to) {
        return jdbc.query("select c.service_id, c.topic, coalesce(f.override_reason, 'none'), count(distinct c.card_uuid)"
                        + " from card_issued c join card_feedback f on f.card_uuid = c.card_uuid"
                        + " where f.outcome = 'overridden' and c.issued_at >= ? and c.issued_at < ?"
                        + " group by c.service_id, c.topic, 3 order by 1, 2, 3",
                (rs, row) -> new ReasonCount(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4)),
                Timestamp.from(from), Timestamp.from(to));
    }

    public List<SuggestionCount> suggestionCounts(Instant from, Instant to) {
        return jdbc.query("select c.service_id, c.topic, s.label, count(distinct s.suggestion_uuid), count(distinct a.suggestion_uuid)"
                        + " from card_issued c join card_suggestion s on s.card_uuid = c.card_uuid"
                        + " left join feedback_accepted_suggestion a on a.suggestion_uuid = s.suggestion_uuid"
                        + " where c.issued_at >= ? and c.issued_at < ? group by c.service_id, c.topic, s.label order by 1, 2, 3",
                (rs, row) -> new SuggestionCount(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5)),
                Timestamp.from(from), Timestamp.from(to));
    }

    /** Rows of a table, for tests and the operators' sanity checks. */
    long count(String table) {
        if (!table.matches("[a-z_]+")) {
            throw new IllegalArgumentException(table);
        }
        return jdbc.queryForObject("select count(*) from " + table, Long.class);
    }
}
