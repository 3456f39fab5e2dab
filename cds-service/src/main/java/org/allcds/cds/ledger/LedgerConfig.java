package org.allcds.cds.ledger;

import java.time.Clock;
import org.allcds.cql.ValueSetRepository;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.core.Ordered;
import org.springframework.context.annotation.Configuration;

/** The ledger: with its store when a data source exists ({@link LedgerDatabaseConfig}), without one when it is off. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(LedgerProperties.class)
public class LedgerConfig {

    /** {@code /analytics} and below: the analytics token (all-cds.analytics.*), not the EHRs' JWTs. */
    @Bean
    FilterRegistrationBean<AnalyticsAuthFilter> analyticsAuthFilter(@Value("${all-cds.analytics.token:}") String token,
            @Value("${all-cds.analytics.open:false}") boolean open) {
        FilterRegistrationBean<AnalyticsAuthFilter> registration = new FilterRegistrationBean<>(new AnalyticsAuthFilter(token, open));
        registration.addUrlPatterns("/analytics", "/analytics/*");
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 100);
        registration.setName("analyticsAuthFilter");
        return registration;
    }

    @Bean
    public CardLedger cardLedger(LedgerProperties properties, ObjectProvider<LedgerStore> store, LedgerMetrics metrics,
            ValueSetRepository valueSets, Clock clock) {
        LedgerStore ledgerStore = properties.enabled() ? store.getIfAvailable() : null;
        return new CardLedger(properties, ledgerStore, metrics, LogicVersion.of(valueSets), clock);
    }
}
