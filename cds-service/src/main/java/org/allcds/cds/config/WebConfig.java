package org.allcds.cds.config;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.serializer.FhirResourceSerializer;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.util.List;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.jackson.Jackson2ObjectMapperBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.core.Ordered;
import org.springframework.http.CacheControl;
import org.springframework.web.cors.CorsConfiguration;
import org.springframework.web.cors.UrlBasedCorsConfigurationSource;
import org.springframework.web.filter.CorsFilter;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;
import org.springframework.web.servlet.mvc.WebContentInterceptor;

/**
 * HTTP concerns: CORS for browser-based EHRs and the CDS Hooks Sandbox, no caching of answers, FHIR
 * resources inside card JSON.
 */
@Configuration(proxyBeanMethods = false)
public class WebConfig implements WebMvcConfigurer {

    private final List<String> allowedOrigins;

    public WebConfig(@Value("${all-cds.http.cors-allowed-origins:*}") List<String> allowedOrigins) {
        this.allowedOrigins = allowedOrigins;
    }

    /**
     * CDS Hooks: services must allow cross-origin calls (the Sandbox calls from the browser). A
     * servlet filter ahead of authentication, so a 401 still carries CORS headers and a browser
     * client sees the 401 rather than an opaque CORS failure; preflights never need a token.
     */
    @Bean
    public FilterRegistrationBean<CorsFilter> corsFilter() {
        CorsConfiguration cors = new CorsConfiguration();
        cors.setAllowedOriginPatterns(allowedOrigins);
        cors.setAllowedMethods(List.of("GET", "POST", "OPTIONS"));
        cors.setAllowedHeaders(List.of("Authorization", "Content-Type", "Accept"));
        cors.setMaxAge(3600L);
        UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();
        source.registerCorsConfiguration("/cds-services", cors);
        source.registerCorsConfiguration("/cds-services/**", cors);
        FilterRegistrationBean<CorsFilter> registration = new FilterRegistrationBean<>(new CorsFilter(source));
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE);
        return registration;
    }

    /**
     * Hook and feedback answers carry patient data: no browser, proxy or EHR-side cache may keep them.
     * (The filters' own 400 and 401 answers set the same header.)
     */
    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        WebContentInterceptor noStore = new WebContentInterceptor();
        noStore.addCacheMapping(CacheControl.noStore(), "/cds-services", "/cds-services/**");
        registry.addInterceptor(noStore);
    }

    /** Suggestion actions carry HAPI resources; HAPI serializes them as FHIR JSON. */
    @Bean
    public Jackson2ObjectMapperBuilderCustomizer fhirResourcesInJson(FhirContext fhirContext) {
        return builder -> builder
                .serializationInclusion(JsonInclude.Include.NON_NULL)
                .modulesToInstall(new SimpleModule("fhir-resources").addSerializer(new FhirResourceSerializer(fhirContext)));
    }
}
