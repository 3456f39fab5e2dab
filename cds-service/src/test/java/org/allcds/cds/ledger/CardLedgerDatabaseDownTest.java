package org.allcds.cds.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.allcds.cds.hooks.FeedbackRequest;
import org.allcds.cds.problems.RequestProblem;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.http.HttpStatus;

/**
 * The database stops: the hook path goes on (cards shown, none held back, the lost writes counted), and feedback,
 * which must be stored to be answered, is a 503.
 */
class CardLedgerDatabaseDownTest {

    @TempDir
    Path dataDir;

    @Test
    void hookCallsGoOnAndFeedbackIsA503() throws Exception {
        EmbeddedPostgresServer server = EmbeddedPostgresServer.start(dataDir);
        HikariDataSource dataSource = new HikariDataSource();
        dataSource.setJdbcUrl(server.jdbcUrl());
        dataSource.setUsername("postgres");
        dataSource.setConnectionTimeout(500);
        Flyway.configure().dataSource(dataSource).load().migrate();
        LedgerMetrics metrics = new LedgerMetrics(new SimpleMeterRegistry());
        CardLedger ledger = new CardLedger(new LedgerProperties(true, null, Map.of(), null, null), new LedgerStore(dataSource),
                metrics, "test", Clock.systemUTC());
        var card = CardLedgerStoreTest.card("tx-mrd-review", "Observation/x");
        ledger.issued("svc", null, "p-down", Caller.DEMO, List.of(card));
        assertThat(ledger.flush(Duration.ofSeconds(5))).isTrue();
        ledger.feedback("svc", Caller.DEMO, new FeedbackRequest(List.of(CardLedgerStoreTest.addressed(card, Instant.now()))));
        assertThat(ledger.withoutAddressed("svc", "p-down", List.of(CardLedgerStoreTest.card("tx-mrd-review", "Observation/x"))))
                .as("held back while the database answers").isEmpty();

        server.close();

        var again = CardLedgerStoreTest.card("tx-mrd-review", "Observation/x");
        assertThat(ledger.withoutAddressed("svc", "p-down", List.of(again))).as("fails open").containsExactly(again);
        assertThat(metrics.failures(LedgerMetrics.Failure.READ)).isEqualTo(1);
        ledger.issued("svc", null, "p-down", Caller.DEMO, List.of(again));
        assertThat(ledger.flush(Duration.ofSeconds(10))).isTrue();
        assertThat(metrics.failures(LedgerMetrics.Failure.WRITE)).isEqualTo(1);
        assertThatThrownBy(() -> ledger.feedback("svc", Caller.DEMO,
                new FeedbackRequest(List.of(CardLedgerStoreTest.addressed(card, Instant.now().plusSeconds(1))))))
                .isInstanceOfSatisfying(RequestProblem.class, p -> {
                    assertThat(p.status()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
                    assertThat(p.code()).isEqualTo("ledger-unavailable");
                });
        ledger.close();
        dataSource.close();
    }
}
