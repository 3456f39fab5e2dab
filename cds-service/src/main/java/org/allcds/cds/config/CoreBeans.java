package org.allcds.cds.config;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import java.time.Clock;
import org.allcds.cds.evaluation.CqlEvaluationService;
import org.allcds.cds.evaluation.EvaluationSettings;
import org.allcds.cds.fhirdata.FhirServerFetcher;
import org.allcds.cds.fhirdata.FhirServerSettings;
import org.allcds.cds.fhirdata.PatientDataService;
import org.allcds.cds.security.FhirServerGuard;
import org.allcds.cds.security.GuardedFhirClients;
import org.allcds.cql.ValueSetRepository;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The process-wide, expensive-to-build objects: built once, shared by every request. */
@Configuration(proxyBeanMethods = false)
public class CoreBeans {

    @Bean
    public FhirContext fhirContext(FhirServerSettings fhirServer) {
        FhirContext context = FhirContext.forR4();
        // Timeouts bound every call to an EHR's FHIR server; no capability-statement round trip first.
        context.getRestfulClientFactory().setConnectTimeout((int) fhirServer.connectTimeout().toMillis());
        context.getRestfulClientFactory().setSocketTimeout((int) fhirServer.readTimeout().toMillis());
        context.getRestfulClientFactory().setConnectionRequestTimeout((int) fhirServer.connectTimeout().toMillis());
        context.getRestfulClientFactory().setServerValidationMode(ServerValidationModeEnum.NEVER);
        return context;
    }

    /** HAPI clients for the EHRs' FHIR servers, with the data layer's timeouts. */
    @Bean
    public GuardedFhirClients guardedFhirClients(FhirContext fhirContext, FhirServerSettings fhirServer, FhirServerGuard guard) {
        return new GuardedFhirClients(fhirContext, fhirServer.connectTimeout(), fhirServer.readTimeout(), guard);
    }

    @Bean
    public ValueSetRepository valueSetRepository(FhirContext fhirContext, EvaluationSettings settings) {
        return ValueSetRepository.load(fhirContext, settings.valueSetsExtraDir());
    }

    /**
     * The data layer, given as plain data what the CQL reads (the Observation codes its retrieves name), so it
     * knows nothing of the evaluation.
     */
    @Bean
    public PatientDataService patientDataService(FhirContext fhirContext, CqlEvaluationService evaluation,
            FhirServerFetcher fetcher, @Value("${all-cds.data.direct-read:true}") boolean directRead) {
        return new PatientDataService(fhirContext, evaluation.observationCodesRead(), fetcher, directRead);
    }

    @Bean
    public Clock clock() {
        return Clock.systemUTC();
    }
}
