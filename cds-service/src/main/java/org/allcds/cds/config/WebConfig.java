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
import org.springframework.web.servlet.config.annotation.CorsRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/** HTTP concerns: CORS for browser-based EHRs and the CDS Hooks Sandbox, FHIR resources inside card JSON. */
@Configuration(proxyBeanMethods = false)
public class WebConfig implements WebMvcConfigurer {

    private final List<String> allowedOrigins;

    public WebConfig(@Value("${all-cds.http.cors-allowed-origins:*}") List<String> allowedOrigins) {
        this.allowedOrigins = allowedOrigins;
    }

    @Override
    public void addCorsMappings(CorsRegistry registry) {
        // CDS Hooks: services must allow cross-origin calls (the Sandbox calls from the browser).
        registry.addMapping("/cds-services/**")
                .allowedOriginPatterns(allowedOrigins.toArray(String[]::new))
                .allowedMethods("GET", "POST", "OPTIONS")
                .allowedHeaders("Authorization", "Content-Type", "Accept")
                .maxAge(3600);
        registry.addMapping("/cds-services")
                .allowedOriginPatterns(allowedOrigins.toArray(String[]::new))
                .allowedMethods("GET", "OPTIONS")
                .allowedHeaders("Authorization", "Content-Type", "Accept")
                .maxAge(3600);
    }

    /** Suggestion actions carry HAPI resources; HAPI serializes them as FHIR JSON. */
    @Bean
    public Jackson2ObjectMapperBuilderCustomizer fhirResourcesInJson(FhirContext fhirContext) {
        return builder -> builder
                .serializationInclusion(JsonInclude.Include.NON_NULL)
                .modulesToInstall(new SimpleModule("fhir-resources").addSerializer(new FhirResourceSerializer(fhirContext)));
    }
}
