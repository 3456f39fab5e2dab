package org.allcds.cds.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceIndicatorEnum;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCardJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCardSourceJson;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCodingJson;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.allcds.cds.cards.AllCdsCardExtension;
import org.allcds.cds.hooks.FeedbackRequest;
import org.allcds.cds.problems.RequestProblem;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger against a real (embedded) PostgreSQL migrated by the service's Flyway scripts: feedback stored once,
 * suppression by patient, topic and evidence with per-topic periods, jti first use and replay, retention, and the
 * hook path failing open (and feedback failing with a 503) once the database is gone.
 */
class CardLedgerStoreTest {

    @TempDir
    static Path dataDir;

    static EmbeddedPostgresServer server;
    static HikariDataSource dataSource;
    static LedgerStore store;
    static final LedgerMetrics metrics = new LedgerMetrics(new SimpleMeterRegistry());

    @BeforeAll
    static void start() {
        server = EmbeddedPostgresServer.start(dataDir);
        dataSource = new HikariDataSource();
        dataSource.setJdbcUrl(server.jdbcUrl());
        dataSource.setUsername("postgres");
        dataSource.setConnectionTimeout(1_000);
        Flyway.configure().dataSource(dataSource).load().migrate();
        store = new LedgerStore(dataSource);
    }

    @AfterAll
    static void stop() throws Exception {
        dataSource.close();
        server.close();
    }

    @Test
    void aSecondServerOnTheSameDataDirectoryIsRefusedAtOnceNamingTheRunningOne() {
        // another instance in the same directory, or a PostgreSQL left running by a service that was killed
        long start = System.nanoTime();
        assertThatThrownBy(() -> EmbeddedPostgresServer.start(dataDir))
                .isInstanceOf(java.io.UncheckedIOException.class)
                .hasMessageContaining("another PostgreSQL (PID ")
                .hasMessageContaining(dataDir.resolve("postgres").toAbsolutePath().toString())
                .hasMessageContaining("all-cds.data-dir");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("refused before waiting for a start")
                .isLessThan(Duration.ofSeconds(5));
        assertThat(store.count("card_issued")).as("the running server is untouched").isGreaterThanOrEqualTo(0);
    }

    static CardLedger ledger(Map<String, Duration> periods, Clock clock) {
        return new CardLedger(new LedgerProperties(true, null, periods, null, null), store, metrics, "test 1.0; logic 0", clock);
    }

    static CdsServiceResponseCardJson card(String topic, String... evidence) {
        CdsServiceResponseCardJson card = new CdsServiceResponseCardJson();
        card.setUuid(UUID.randomUUID().toString());
        card.setSummary(topic);
        card.setIndicator(CdsServiceIndicatorEnum.WARNING);
        card.setSource(new CdsServiceResponseCardSourceJson().setLabel("test")
                .setTopic(new CdsServiceResponseCodingJson().setSystem("urn:all-cds:card-topic").setCode(topic)));
        card.setExtension(new AllCdsCardExtension(Map.of("evidence", List.of(evidence))));
        return card;
    }

    static FeedbackRequest.Item addressed(CdsServiceResponseCardJson card, Instant when) {
        return new FeedbackRequest.Item(card.getUuid(), FeedbackRequest.Outcome.OVERRIDDEN, when, List.of(),
                new FeedbackRequest.OverrideReason(new FeedbackRequest.Coding("urn:all-cds:override-reason",
                        "already-addressed", null), "ordered yesterday"), null);
    }

    static List<String> topics(List<CdsServiceResponseCardJson> cards) {
        return cards.stream().map(c -> c.getSource().getTopic().getCode()).toList();
    }

    @Test
    void theSameFeedbackSentTwiceIsStoredOnce() {
        CardLedger ledger = ledger(Map.of(), Clock.systemUTC());
        CdsServiceResponseCardJson card = card("tx-mrd-review", "Observation/mrd-1");
        ledger.issued("svc", UUID.randomUUID().toString(), "p-once", Caller.DEMO, List.of(card));
        long before = store.count("card_feedback");
        FeedbackRequest feedback = new FeedbackRequest(List.of(addressed(card, Instant.parse("2026-01-01T10:00:00Z"))));
        ledger.feedback("svc", Caller.DEMO, feedback);
        ledger.feedback("svc", Caller.DEMO, feedback);
        assertThat(store.count("card_feedback")).isEqualTo(before + 1);
        // another outcome time is another feedback item
        ledger.feedback("svc", Caller.DEMO, new FeedbackRequest(List.of(addressed(card, Instant.parse("2026-01-01T11:00:00Z")))));
        assertThat(store.count("card_feedback")).isEqualTo(before + 2);
        ledger.close();
    }

    @Test
    void feedbackNamesTheServiceThatIssuedTheCard() {
        CardLedger ledger = ledger(Map.of(), Clock.systemUTC());
        CdsServiceResponseCardJson card = card("tx-mrd-review", "Observation/mrd-2");
        ledger.issued("svc", null, "p-service", Caller.DEMO, List.of(card));
        assertThatThrownBy(() -> ledger.feedback("other-svc", Caller.DEMO,
                new FeedbackRequest(List.of(addressed(card, Instant.now())))))
                .isInstanceOfSatisfying(RequestProblem.class, p -> assertThat(p.code()).isEqualTo("unknown-card"));
        ledger.close();
    }

    @Test
    void alreadyAddressedHoldsBackTheSameEvidenceOnlyForTheTopicsPeriod() {
        Instant now = Instant.parse("2026-03-01T12:00:00Z");
        Clock clock = Clock.fixed(now, ZoneOffset.UTC);
        CardLedger ledger = ledger(Map.of("dx-remission-monitoring", Duration.ZERO, "tx-mrd-review", Duration.ofDays(7)), clock);
        CdsServiceResponseCardJson mrd = card("tx-mrd-review", "Observation/b", "Observation/a");
        CdsServiceResponseCardJson relapse = card("dx-relapse-workup", "Observation/c");
        CdsServiceResponseCardJson monitoring = card("dx-remission-monitoring", "Observation/d");
        CdsServiceResponseCardJson conflict = card("data-conflict", "Observation/e");
        List<CdsServiceResponseCardJson> first = List.of(mrd, relapse, monitoring, conflict);
        ledger.issued("svc", null, "p-suppress", Caller.DEMO, first);
        ledger.feedback("svc", Caller.DEMO, new FeedbackRequest(List.of(addressed(mrd, now.minus(Duration.ofDays(6))),
                addressed(relapse, now.minus(Duration.ofDays(15))), addressed(monitoring, now.minus(Duration.ofDays(1))),
                addressed(conflict, now.minus(Duration.ofDays(1))))));

        // the same evidence, listed in another order: held back (6 days ago, 7-day period)
        List<CdsServiceResponseCardJson> next = List.of(card("tx-mrd-review", "Observation/a", "Observation/b"),
                card("dx-relapse-workup", "Observation/c"), card("dx-remission-monitoring", "Observation/d"),
                card("data-conflict", "Observation/e"));
        assertThat(topics(ledger.withoutAddressed("svc", "p-suppress", next)))
                // relapse: 15 days ago, past the default 14; monitoring: period 0; data-conflict: never held back
                .containsExactly("dx-relapse-workup", "dx-remission-monitoring", "data-conflict");
        // new evidence: a new card, shown
        assertThat(topics(ledger.withoutAddressed("svc", "p-suppress", List.of(card("tx-mrd-review", "Observation/a",
                "Observation/b", "Observation/new"))))).containsExactly("tx-mrd-review");
        // another patient
        assertThat(ledger.withoutAddressed("svc", "p-other", List.of(card("tx-mrd-review", "Observation/a", "Observation/b"))))
                .hasSize(1);
        ledger.close();
    }

    @Test
    void aJwtIdIsUsedOnceUntilItExpires() {
        Instant now = Instant.now();
        assertThat(store.firstUseOfJwtId("https://ehr", "jti-1", now.plusSeconds(60), now)).isTrue();
        assertThat(store.firstUseOfJwtId("https://ehr", "jti-1", now.plusSeconds(60), now)).isFalse();
        assertThat(store.firstUseOfJwtId("https://other-ehr", "jti-1", now.plusSeconds(60), now)).isTrue();
        // once expired, the id is free again (the token itself is refused by its exp)
        assertThat(store.firstUseOfJwtId("https://ehr", "jti-1", now.plusSeconds(200), now.plusSeconds(61))).isTrue();
    }

    @Test
    void rowsPastRetentionAreDeleted() {
        Instant now = Instant.now();
        CardLedger old = ledger(Map.of(), Clock.fixed(now.minus(Duration.ofDays(401)), ZoneOffset.UTC));
        CdsServiceResponseCardJson oldCard = card("tx-mrd-review", "Observation/old");
        old.issued("svc", null, "p-retention", Caller.DEMO, List.of(oldCard));
        old.close();
        CardLedger recent = ledger(Map.of(), Clock.fixed(now, ZoneOffset.UTC));
        CdsServiceResponseCardJson newCard = card("tx-mrd-review", "Observation/new");
        recent.issued("svc", null, "p-retention", Caller.DEMO, List.of(newCard));
        recent.flush(Duration.ofSeconds(5));
        recent.deleteExpired();
        assertThat(store.card("svc", oldCard.getUuid())).isNull();
        assertThat(store.card("svc", newCard.getUuid())).isNotNull();
        recent.close();
    }
}
