package org.allcds.cds.security;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import ca.uhn.fhir.rest.client.apache.ApacheRestfulClientFactory;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.time.Duration;
import org.apache.http.HttpRequest;
import org.apache.http.client.config.RequestConfig;
import org.apache.http.client.protocol.HttpClientContext;
import org.apache.http.impl.client.CloseableHttpClient;
import org.apache.http.impl.client.HttpClientBuilder;
import org.apache.http.protocol.HttpContext;

/**
 * HAPI clients for EHR FHIR servers on an HTTP client built for calling URLs a request names:
 * <ul>
 *   <li>no redirects: Apache's client would copy the {@code Authorization} header to the redirect
 *       target (another host), and the target would escape the fhirServer guard;</li>
 *   <li>every resolved address re-checked at connect time ({@link FhirServerGuard#dnsResolver()});</li>
 *   <li>bounded response bodies ({@link ResponseSizeLimit}), connect/read/pool timeouts;</li>
 *   <li>within a hook call, its budget ({@link FhirServerCallBudget}): those timeouts cut to the time left
 *       before its deadline, and its bytes counted;</li>
 *   <li>no cookies, no system proxy settings, no retries, no capability-statement round trip.</li>
 * </ul>
 *
 * <p>The factory is installed on the shared {@link FhirContext}: HAPI builds each request's HTTP client
 * from {@code FhirContext.getRestfulClientFactory()}, not from the factory that made the generic client,
 * so a factory that is not the context's own would be silently bypassed (redirects followed, no limits).
 * Built in {@code config/CoreBeans} from the {@code all-cds.fhir-server} timeouts.
 */
public class GuardedFhirClients {

    private final CloseableHttpClient httpClient;
    private final ApacheRestfulClientFactory factory;

    /**
     * @param connectTimeout TCP connect (and pool) timeout
     * @param readTimeout socket read timeout, per read
     */
    public GuardedFhirClients(FhirContext fhirContext, Duration connectTimeout, Duration readTimeout, FhirServerGuard guard) {
        int connect = (int) connectTimeout.toMillis();
        int read = (int) readTimeout.toMillis();
        RequestConfig config = RequestConfig.custom()
                .setConnectTimeout(connect)
                .setConnectionRequestTimeout(connect)
                .setSocketTimeout(read)
                .setRedirectsEnabled(false)
                .build();
        this.httpClient = HttpClientBuilder.create()
                .setDefaultRequestConfig(config)
                .disableRedirectHandling()
                .disableCookieManagement()
                .disableAuthCaching()
                .disableAutomaticRetries()
                .setDnsResolver(guard.dnsResolver())
                .addInterceptorLast(GuardedFhirClients::capTimeoutsAtTheCallDeadline)
                .addInterceptorLast(new ResponseSizeLimit(guard.policy().maxResponseBytes()))
                .setMaxConnTotal(50)
                .setMaxConnPerRoute(10)
                .build();
        this.factory = new ApacheRestfulClientFactory(fhirContext);
        factory.setServerValidationMode(ServerValidationModeEnum.NEVER);
        factory.setHttpClient(httpClient);
        fhirContext.setRestfulClientFactory(factory);
    }

    /** Runs before the connection is leased and connected, which read the timeouts from the context. */
    private static void capTimeoutsAtTheCallDeadline(HttpRequest request, HttpContext context) throws IOException {
        FhirServerCallBudget budget = FhirServerCallBudget.current();
        if (budget != null) {
            HttpClientContext clientContext = HttpClientContext.adapt(context);
            clientContext.setRequestConfig(budget.capTimeouts(clientContext.getRequestConfig()));
        }
    }

    /** A HAPI client for {@code baseUrl}; call {@link FhirServerGuard#check} first. */
    public IGenericClient newClient(String baseUrl) {
        return factory.newGenericClient(baseUrl);
    }

    @PreDestroy
    void close() throws IOException {
        httpClient.close();
    }
}
