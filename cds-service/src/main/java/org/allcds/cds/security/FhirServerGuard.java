package org.allcds.cds.security;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.allcds.cds.problems.RequestProblem;
import org.apache.http.conn.DnsResolver;
import org.apache.http.impl.conn.SystemDefaultDnsResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;

/**
 * SSRF guard for the hook's {@code fhirServer}: the service connects only to FHIR servers the verified
 * caller may name (its issuer's {@code fhir-servers}; with auth off {@code all-cds.fhir-server.allowed-base-urls}),
 * over https unless the host is in {@code allow-http-hosts}, and never to loopback, link-local, any-local,
 * multicast, cloud-metadata or private-range addresses unless the host is in {@code allow-private-hosts}.
 * The allowlist is the main control; the address rule is the second line behind it (a listed name that
 * comes to resolve to an internal address).
 *
 * <p>Checked twice: {@link #check} before the HAPI client is even built (so a refused request makes no
 * connection), and again by {@link #dnsResolver()} inside the HTTP client at connect time, so a name that
 * re-resolves to a forbidden address between the two (DNS rebinding) is still refused.
 * A refusal is a 400 {@code fhir-server-not-allowed} that does not say which rule failed or what the name resolved to.
 */
@Component
public class FhirServerGuard {

    private static final Logger log = LoggerFactory.getLogger(FhirServerGuard.class);
    public static final String REFUSED = "fhir-server-not-allowed";

    /** Cloud instance-metadata and platform addresses not covered by the link-local check. */
    private static final Set<String> METADATA = Set.of(
            "169.254.169.254", "fd00:ec2:0:0:0:0:0:254", "100.100.100.200", "168.63.129.16");

    private final AuthProperties auth;
    private final FhirServerPolicy policy;

    public FhirServerGuard(AuthProperties auth, FhirServerPolicy policy) {
        this.auth = auth;
        this.policy = policy;
    }

    public FhirServerPolicy policy() {
        return policy;
    }

    /**
     * Refuses (400, no connection made) a fhirServer the caller may not send the service to.
     *
     * @param baseUrl the request's {@code fhirServer}
     * @param issuer  the verified {@code iss} of the caller; {@code null} when no token was verified
     */
    public void check(String baseUrl, String issuer) {
        URI uri = parse(baseUrl);
        if (uri == null) {
            throw refused("not an absolute http(s) URL without credentials, query or fragment", baseUrl);
        }
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        String host = bareHost(uri.getHost());
        if (!"https".equals(scheme) && !("http".equals(scheme) && policy.httpAllowed(host))) {
            throw refused("scheme " + scheme + " not allowed for this host", baseUrl);
        }
        if (!allowedBases(issuer).contains(normalize(uri))) {
            throw refused("not in the allowed base URLs of " + (issuer == null ? "the service" : "issuer " + issuer), baseUrl);
        }
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            // An allowed server whose name does not resolve is down or misconfigured, not a bad request.
            throw new org.allcds.cds.problems.RequestProblem(org.springframework.http.HttpStatus.BAD_GATEWAY,
                    "fhir-server-unreachable", "fhirServer " + baseUrl + " does not resolve");
        }
        if (!policy.privateAllowed(host)) {
            for (InetAddress a : addresses) {
                if (isForbidden(a)) {
                    throw refused("resolves to a forbidden address " + a.getHostAddress(), baseUrl);
                }
            }
        }
    }

    /** The same address rule, applied by the HTTP client to every name it resolves before connecting. */
    public DnsResolver dnsResolver() {
        DnsResolver system = SystemDefaultDnsResolver.INSTANCE;
        return host -> {
            InetAddress[] addresses = system.resolve(host);
            if (!policy.privateAllowed(host)) {
                for (InetAddress a : addresses) {
                    if (isForbidden(a)) {
                        log.warn("refused to connect to a FHIR server name resolving to a forbidden address");
                        throw new ForbiddenAddressException(host);
                    }
                }
            }
            return addresses;
        };
    }

    private List<String> allowedBases(String issuer) {
        List<String> configured;
        if (auth.enabled()) {
            configured = issuer == null ? List.of()
                    : auth.issuer(issuer).map(AuthProperties.Issuer::fhirServers).orElse(List.of());
        } else {
            configured = policy.allowedBaseUrls();
        }
        return configured.stream().map(FhirServerGuard::parse).filter(u -> u != null).map(FhirServerGuard::normalize).toList();
    }

    private static URI parse(String url) {
        if (url == null) {
            return null;
        }
        try {
            URI uri = new URI(url.trim());
            if (!uri.isAbsolute() || uri.isOpaque() || uri.getHost() == null || uri.getRawUserInfo() != null
                    || uri.getRawQuery() != null || uri.getRawFragment() != null) {
                return null;
            }
            String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
            return "http".equals(scheme) || "https".equals(scheme) ? uri : null;
        } catch (URISyntaxException e) {
            return null;
        }
    }

    /** scheme://host[:port]/path, lower-case scheme and host, default port dropped, no trailing slash. */
    static String normalize(URI uri) {
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        int port = uri.getPort();
        boolean defaultPort = port == -1 || ("https".equals(scheme) && port == 443) || ("http".equals(scheme) && port == 80);
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return scheme + "://" + uri.getHost().toLowerCase(Locale.ROOT) + (defaultPort ? "" : ":" + port) + path;
    }

    /** A host without IPv6 brackets. */
    static String bareHost(String host) {
        return host != null && host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    /**
     * Loopback, link-local (169.254/16, fe80::/10), any-local, 0/8, multicast, broadcast, cloud metadata, and the
     * private ranges: RFC 1918 (10/8, 172.16/12, 192.168/16), carrier-grade NAT (100.64/10), IETF protocol
     * assignments (192.0.0/24), IPv6 unique-local (fc00::/7) and site-local (fec0::/10); also inside IPv6 embeddings.
     */
    public static boolean isForbidden(InetAddress a) {
        if (a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isAnyLocalAddress() || a.isMulticastAddress()
                || a.isSiteLocalAddress() || METADATA.contains(a.getHostAddress().toLowerCase(Locale.ROOT))) {
            return true;
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            int first = b[0] & 0xff;
            int second = b[1] & 0xff;
            return first == 0
                    || first == 100 && (second & 0xc0) == 64                 // 100.64.0.0/10
                    || first == 192 && second == 0 && b[2] == 0             // 192.0.0.0/24
                    || first == 255 && second == 255 && (b[2] & 0xff) == 255 && (b[3] & 0xff) == 255;
        }
        if ((b[0] & 0xfe) == 0xfc) {
            return true; // fc00::/7 unique-local
        }
        if (a instanceof Inet6Address v6) {
            // ::a.b.c.d (IPv4-compatible), 64:ff9b::a.b.c.d (NAT64): judge the embedded IPv4 address
            boolean compatible = v6.isIPv4CompatibleAddress();
            boolean nat64 = b[0] == 0 && b[1] == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b
                    && java.util.stream.IntStream.range(4, 12).allMatch(i -> b[i] == 0);
            if (compatible || nat64) {
                try {
                    return isForbidden(InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]}));
                } catch (UnknownHostException e) {
                    return true;
                }
            }
        }
        return false;
    }

    private static RequestProblem refused(String reason, String baseUrl) {
        // The reason is for the operator's log only; the caller learns no more than "not allowed".
        log.warn("fhirServer refused ({}): {}", reason, safe(baseUrl));
        return RequestProblem.badRequest(REFUSED, "fhirServer is not an allowed FHIR server for this caller");
    }

    private static String safe(String url) {
        if (url == null) {
            return "null";
        }
        String s = url.replaceAll("//[^/@]*@", "//***@").replaceAll("[\\r\\n\\t]", "_");
        return s.length() > 200 ? s.substring(0, 200) + "…" : s;
    }

    /** The HTTP client resolved a fhirServer name to a forbidden address; nothing was connected. */
    public static final class ForbiddenAddressException extends UnknownHostException {
        ForbiddenAddressException(String host) {
            super("address of " + host + " is not allowed");
        }
    }
}
