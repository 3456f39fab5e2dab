package org.allcds.cds.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import org.allcds.cds.problems.RequestProblem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The fhirServer SSRF rules, without Spring and without any network (IP literals only). */
class FhirServerGuardTest {

    private static AuthProperties auth(boolean enabled, List<AuthProperties.Issuer> issuers) {
        return new AuthProperties(enabled, "https://cds.test/cds-services", null, issuers, null, null, null, null, null, null);
    }

    private static FhirServerGuard authOff(List<String> allowed, List<String> http, List<String> priv) {
        return new FhirServerGuard(auth(false, List.of()), new FhirServerPolicy(allowed, http, priv, null));
    }

    private static void refused(FhirServerGuard guard, String url, String issuer) {
        assertThatThrownBy(() -> guard.check(url, issuer))
                .isInstanceOfSatisfying(RequestProblem.class, p -> {
                    assertThat(p.status().value()).isEqualTo(400);
                    assertThat(p.code()).isEqualTo("fhir-server-not-allowed");
                    assertThat(p.getMessage()).doesNotContain("127.").doesNotContain("169.254");
                });
    }

    @Test
    void authOffUsesTheServiceAllowlist() {
        FhirServerGuard guard = authOff(List.of("https://93.184.216.34/fhir/"), List.of(), List.of());
        assertThatCode(() -> guard.check("https://93.184.216.34/fhir", null)).doesNotThrowAnyException();
        assertThatCode(() -> guard.check("HTTPS://93.184.216.34:443/fhir/", null)).doesNotThrowAnyException();
        refused(guard, "https://93.184.216.34/other", null);
        refused(guard, "https://93.184.216.34/fhir/Patient", null);
        refused(guard, "https://93.184.216.35/fhir", null);
        refused(guard, "https://93.184.216.34:8443/fhir", null);
    }

    @Test
    void authOnUsesTheIssuersFhirServersOnly() {
        FhirServerGuard guard = new FhirServerGuard(auth(true, List.of(
                new AuthProperties.Issuer("a", "https://a/jwks", null, List.of("https://93.184.216.34/fhir")),
                new AuthProperties.Issuer("b", "https://b/jwks", null, List.of()))),
                new FhirServerPolicy(List.of("https://93.184.216.99/fhir"), null, null, null));
        assertThatCode(() -> guard.check("https://93.184.216.34/fhir", "a")).doesNotThrowAnyException();
        refused(guard, "https://93.184.216.34/fhir", "b");
        refused(guard, "https://93.184.216.34/fhir", null);
        refused(guard, "https://93.184.216.34/fhir", "unknown");
        refused(guard, "https://93.184.216.99/fhir", "a"); // the auth-off list does not apply with auth on
    }

    @Test
    void httpsOnlyUnlessTheHostIsAllowedHttp() {
        FhirServerGuard strict = authOff(List.of("http://93.184.216.34/fhir"), List.of(), List.of());
        refused(strict, "http://93.184.216.34/fhir", null);
        FhirServerGuard lenient = authOff(List.of("http://93.184.216.34/fhir"), List.of("93.184.216.34"), List.of());
        assertThatCode(() -> lenient.check("http://93.184.216.34/fhir", null)).doesNotThrowAnyException();
        refused(lenient, "ftp://93.184.216.34/fhir", null);
        refused(lenient, "file:///etc/passwd", null);
        refused(lenient, "gopher://93.184.216.34/fhir", null);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "https://127.0.0.1/fhir", "https://127.1.2.3/fhir", "https://[::1]/fhir", "https://0.0.0.0/fhir",
            "https://169.254.169.254/fhir", "https://169.254.10.10/fhir", "https://[fe80::1]/fhir",
            "https://224.0.0.1/fhir", "https://[ff02::1]/fhir", "https://[::ffff:127.0.0.1]/fhir",
            "https://[::127.0.0.1]/fhir", "https://[64:ff9b::a9fe:a9fe]/fhir", "https://[fd00:ec2::254]/fhir",
            "https://100.100.100.200/fhir", "https://0.1.2.3/fhir", "https://255.255.255.255/fhir",
            "https://2130706433/fhir", "https://0x7f.0.0.1/fhir"})
    void privateAndMetadataAddressesAreRefusedEvenWhenAllowlisted(String url) {
        FhirServerGuard guard = authOff(List.of(url), List.of(), List.of());
        refused(guard, url, null);
    }

    /**
     * Private ranges (RFC 1918, IPv6 unique-local, carrier-grade NAT, IETF protocol assignments): refused like
     * loopback even when allowlisted, unless the host is in allow-private-hosts. IP literals: no DNS, and the
     * guard refuses before any HTTP client exists, so no connection is made.
     */
    @ParameterizedTest
    @ValueSource(strings = {
            "https://10.0.0.5/fhir", "https://10.255.255.254/fhir", "https://172.16.0.1/fhir", "https://172.31.9.9/fhir",
            "https://192.168.1.10/fhir", "https://[fd00::1]/fhir", "https://[fc00::1]/fhir", "https://100.64.0.1/fhir",
            "https://100.127.1.1/fhir", "https://192.0.0.192/fhir", "https://192.0.0.8/fhir",
            "https://[::ffff:192.168.1.1]/fhir", "https://[64:ff9b::a00:1]/fhir"})
    void privateRangesAreRefusedEvenWhenAllowlisted(String url) {
        refused(authOff(List.of(url), List.of(), List.of()), url, null);
    }

    @Test
    void aPrivateRangeHostCanBeAllowedExplicitly() {
        FhirServerGuard guard = authOff(List.of("https://10.0.0.5/fhir", "https://[fd00::1]/fhir"),
                List.of(), List.of("10.0.0.5", "[fd00::1]"));
        assertThatCode(() -> guard.check("https://10.0.0.5/fhir", null)).doesNotThrowAnyException();
        assertThatCode(() -> guard.check("https://[fd00::1]/fhir", null)).doesNotThrowAnyException();
        refused(authOff(List.of("https://10.0.0.6/fhir"), List.of(), List.of("10.0.0.5")), "https://10.0.0.6/fhir", null);
    }

    @Test
    void privateHostsCanBeAllowedExplicitly() {
        FhirServerGuard guard = authOff(List.of("http://127.0.0.1:8081/fhir", "http://[::1]:8081/fhir"),
                List.of("127.0.0.1", "[::1]"), List.of("127.0.0.1", "::1"));
        assertThatCode(() -> guard.check("http://127.0.0.1:8081/fhir", null)).doesNotThrowAnyException();
        assertThatCode(() -> guard.check("http://[::1]:8081/fhir", null)).doesNotThrowAnyException();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "not a url", "/fhir", "https:///fhir", "https://user:pw@93.184.216.34/fhir",
            "https://93.184.216.34/fhir?x=1", "https://93.184.216.34/fhir#f", "https://93.184.216.34\r\n/fhir",
            "javascript:alert(1)"})
    void malformedIsRefused(String url) {
        FhirServerGuard guard = authOff(List.of(url, "https://no-such-host.invalid/fhir"), List.of(), List.of());
        refused(guard, url, null);
    }

    /** An allowed server whose name does not resolve is down, not a bad request: 502, no connection. */
    @Test
    void allowedButUnresolvableIsABadGateway() {
        FhirServerGuard guard = authOff(List.of("https://no-such-host.invalid/fhir"), List.of(), List.of());
        assertThatThrownBy(() -> guard.check("https://no-such-host.invalid/fhir", null))
                .isInstanceOfSatisfying(org.allcds.cds.problems.RequestProblem.class, p -> {
                    org.assertj.core.api.Assertions.assertThat(p.status().value()).isEqualTo(502);
                    org.assertj.core.api.Assertions.assertThat(p.code()).isEqualTo("fhir-server-unreachable");
                });
    }

    @Test
    void nullIsRefused() {
        refused(authOff(List.of(), List.of(), List.of()), null, null);
    }

    @Test
    void forbiddenAddressClassification() throws Exception {
        for (String a : List.of("127.0.0.1", "::1", "169.254.169.254", "fe80::1", "0.0.0.0", "::", "239.1.1.1",
                "fd00:ec2::254", "168.63.129.16")) {
            assertThat(FhirServerGuard.isForbidden(InetAddress.getByName(a))).as(a).isTrue();
        }
        for (String a : List.of("10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fd12::1", "fc00::1",
                "100.64.0.1", "100.127.255.254", "192.0.0.192", "::ffff:10.0.0.1")) {
            assertThat(FhirServerGuard.isForbidden(InetAddress.getByName(a))).as(a).isTrue();
        }
        // just outside those ranges, and public addresses
        for (String a : List.of("93.184.216.34", "2001:db8::1", "11.0.0.1", "172.15.255.255", "172.32.0.1",
                "192.169.0.1", "100.63.255.255", "100.128.0.1", "192.0.1.1", "fe00::1")) {
            assertThat(FhirServerGuard.isForbidden(InetAddress.getByName(a))).as(a).isFalse();
        }
    }

    @Test
    void theDnsResolverAppliesTheSameRule() throws Exception {
        FhirServerGuard guard = authOff(List.of(), List.of(), List.of("localhost"));
        assertThatThrownBy(() -> guard.dnsResolver().resolve("127.0.0.1"))
                .isInstanceOf(FhirServerGuard.ForbiddenAddressException.class);
        assertThat(guard.dnsResolver().resolve("localhost")).isNotEmpty();
        assertThat(guard.dnsResolver().resolve("93.184.216.34")).hasSize(1);
    }
}
