package org.allcds.cds.ledger;

import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.boot.autoconfigure.jdbc.DataSourceProperties;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.StringUtils;

/**
 * The ledger's database: {@code spring.datasource.*} when {@code spring.datasource.url} is set (production
 * PostgreSQL), else the embedded PostgreSQL under {@code all-cds.data-dir}. Flyway (Boot's auto-configuration)
 * migrates either with the same scripts ({@code db/migration}). With the ledger off there is no data source at all
 * (Boot's own data source auto-configuration is excluded in application.yml, as it would demand a URL).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "all-cds.ledger.enabled", havingValue = "true", matchIfMissing = true)
@EnableConfigurationProperties(DataSourceProperties.class)
public class LedgerDatabaseConfig {

    /** Started only when no URL is configured (null otherwise); closed after the pool. */
    @Bean(destroyMethod = "close")
    EmbeddedPostgresHolder embeddedPostgres(DataSourceProperties properties,
            @Value("${all-cds.data-dir:./data}") String dataDir) {
        return new EmbeddedPostgresHolder(StringUtils.hasText(properties.getUrl()) ? null
                : EmbeddedPostgresServer.start(Path.of(dataDir)));
    }

    @Bean
    @ConfigurationProperties("spring.datasource.hikari")
    HikariDataSource dataSource(DataSourceProperties properties, EmbeddedPostgresHolder embedded) {
        HikariDataSource dataSource;
        if (embedded.server() != null) {
            dataSource = new HikariDataSource();
            dataSource.setJdbcUrl(embedded.server().jdbcUrl());
            dataSource.setUsername("postgres");
        } else {
            dataSource = properties.initializeDataSourceBuilder().type(HikariDataSource.class).build();
        }
        dataSource.setPoolName("ledger");
        // A database that is down must cost a hook call little (the ledger fails open there) and a feedback call
        // a prompt 503, not Hikari's 30 s default wait; spring.datasource.hikari.* may still override these.
        dataSource.setConnectionTimeout(1_000);
        dataSource.setValidationTimeout(500);
        return dataSource;
    }

    @Bean
    @DependsOnDatabaseInitialization
    LedgerStore ledgerStore(HikariDataSource dataSource) {
        return new LedgerStore(dataSource);
    }

    /** jti replay protection shared by every replica using this database. */
    @Bean
    JdbcReplayStore sharedReplayStore(LedgerStore store, LedgerMetrics metrics) {
        return new JdbcReplayStore(store, metrics);
    }

    /** The embedded server or null; a bean of its own so it is stopped after the pool that uses it. */
    record EmbeddedPostgresHolder(EmbeddedPostgresServer server) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            if (server != null) {
                server.close();
            }
        }
    }
}
