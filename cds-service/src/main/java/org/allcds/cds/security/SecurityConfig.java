package org.allcds.cds.security;

import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

/** Wires authentication ({@code all-cds.auth}) and the fhirServer policy; says loudly when auth is off. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({AuthProperties.class, FhirServerPolicy.class})
public class SecurityConfig {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfig.class);

    /** Before authentication: a path is protected or not by one spelling only, its normal form. */
    @Bean
    public FilterRegistrationBean<CanonicalPathFilter> canonicalPathFilter() {
        FilterRegistrationBean<CanonicalPathFilter> registration = new FilterRegistrationBean<>(new CanonicalPathFilter());
        registration.addUrlPatterns("/*");
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 50);
        registration.setName("canonicalPathFilter");
        return registration;
    }

    @Bean
    public FilterRegistrationBean<CdsHooksAuthFilter> cdsHooksAuthFilter(AuthProperties auth, Clock clock,
            ObjectProvider<SharedReplayStore> sharedReplays) {
        FilterRegistrationBean<CdsHooksAuthFilter> registration = new FilterRegistrationBean<>(
                new CdsHooksAuthFilter(new JwtVerifier(auth, clock, sharedReplays.getIfAvailable())));
        // every request: the filter decides on the routed path itself (Tomcat's URL-pattern match is not the
        // place to decide what is protected)
        registration.addUrlPatterns("/*");
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 100);
        registration.setName("cdsHooksAuthFilter");
        if (!auth.enabled()) {
            registration.setEnabled(false);
            log.warn("""

                    ************************************************************************
                    *  AUTHENTICATION IS OFF (all-cds.auth.enabled=false).                 *
                    *  Anyone who can reach this port can call the CDS services and make   *
                    *  the service fetch from the allowed FHIR servers. Demo/test only;    *
                    *  never run a deployment like this.                                   *
                    ************************************************************************""");
        } else {
            if (auth.audience() == null || auth.audience().isBlank()) {
                throw new IllegalStateException("all-cds.auth.audience must be set (this service's discovery URL) when auth is on");
            }
            if (auth.issuers().isEmpty()) {
                log.warn("all-cds.auth.issuers is empty: every hook call will be refused with 401 until an issuer is configured");
            }
            log.info("CDS Hooks JWT authentication on: audience {} (each endpoint's below it), issuers {}", auth.audience(),
                    auth.issuers().stream().map(AuthProperties.Issuer::iss).toList());
        }
        return registration;
    }
}
