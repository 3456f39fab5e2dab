package org.allcds.cds.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.allcds.cds.security.TestTokens;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;

/**
 * Open-loop load generator for a CDS service on loopback with authentication ON: generates an ES384
 * key, serves its JWKS on 127.0.0.1, and sends fixture hook calls at a steady rate, each with a freshly
 * signed JWT (new jti). Latency is measured from each request's scheduled send time (so a slow service
 * cannot hide its queueing: no coordinated omission). Refuses any target that is not a loopback address.
 *
 * <pre>
 * java -cp ... org.allcds.cds.load.LoadGenerator --target http://127.0.0.1:18080 --jwks-port 18089 \
 *      --iss load-test-ehr --rate 20 --duration 60 [--warmup 10] [--max-in-flight 200] [--ready-timeout 300]
 * </pre>
 * Start it before (or with) the service: the service fetches the JWKS at the first call.
 * Exit code: 0, or 1 when any request failed (non-200 or transport error).
 */
public final class LoadGenerator {

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new java.util.HashMap<>(Map.of("--target", "http://127.0.0.1:18080", "--jwks-port", "18089",
                "--iss", "load-test-ehr", "--rate", "20", "--duration", "60", "--warmup", "10", "--max-in-flight", "200",
                "--ready-timeout", "300"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!a.containsKey(args[i])) {
                throw new IllegalArgumentException("unknown option " + args[i] + "; options: " + a.keySet());
            }
            a.put(args[i], args[i + 1]);
        }
        URI target = URI.create(a.get("--target"));
        for (InetAddress address : InetAddress.getAllByName(target.getHost())) {
            if (!address.isLoopbackAddress()) {
                throw new IllegalArgumentException("load is only ever sent to loopback; " + target.getHost() + " is " + address);
            }
        }
        String audience = a.getOrDefault("--aud", target + "/cds-services");
        int rate = Integer.parseInt(a.get("--rate"));
        int duration = Integer.parseInt(a.get("--duration"));
        int warmup = Integer.parseInt(a.get("--warmup"));
        int maxInFlight = Integer.parseInt(a.get("--max-in-flight"));
        String iss = a.get("--iss");

        ECKey key = TestTokens.ecKey("load-es384", Curve.P_384);
        try (TestTokens.JwksServer jwks = new TestTokens.JwksServer(Integer.parseInt(a.get("--jwks-port")), List.of(key))) {
            System.out.println("JWKS at " + jwks.url() + " (ES384, kid load-es384)");
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
                    .executor(Executors.newFixedThreadPool(8)).build();
            waitUntilReady(http, target, Integer.parseInt(a.get("--ready-timeout")));

            ObjectMapper json = new ObjectMapper();
            LocalDate today = LocalDate.now(ZoneOffset.UTC);
            List<String> paths = new ArrayList<>();
            List<byte[]> bodies = new ArrayList<>();
            for (Fixture f : FixtureCatalog.load()) {
                paths.add("/cds-services/" + f.service());
                bodies.add(json.writeValueAsBytes(HookRequests.withPrefetch(f, today)));
            }
            System.out.printf("%d fixture requests; audience %s; issuer %s%n", bodies.size(), audience, iss);
            if (warmup > 0) {
                System.out.printf("warm-up: %d s at %d/s (not measured)%n", warmup, rate);
                run(http, target, audience, iss, key, paths, bodies, rate, warmup, maxInFlight, false);
            }
            System.out.printf("measuring: %d s at %d/s%n", duration, rate);
            boolean ok = run(http, target, audience, iss, key, paths, bodies, rate, duration, maxInFlight, true);
            System.exit(ok ? 0 : 1);
        }
    }

    private static void waitUntilReady(HttpClient http, URI target, int timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(target.resolve("/actuator/health/readiness"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    System.out.println("service ready: " + target);
                    return;
                }
            } catch (java.io.IOException e) {
                // not up yet
            }
            Thread.sleep(1000);
        }
        throw new IllegalStateException("service at " + target + " not ready within " + timeoutSeconds + " s");
    }

    private static boolean run(HttpClient http, URI target, String audience, String iss, ECKey key, List<String> paths,
            List<byte[]> bodies, int rate, int seconds, int maxInFlight, boolean report) throws InterruptedException {
        int total = rate * seconds;
        long[] latencyMicros = new long[total];
        Arrays.fill(latencyMicros, -1);
        Map<String, Integer> outcomes = new ConcurrentSkipListMap<>();
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger sent = new AtomicInteger();
        AtomicLong signNanos = new AtomicLong();
        long periodNanos = 1_000_000_000L / rate;
        long start = System.nanoTime();
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
        ticker.scheduleAtFixedRate(() -> {
            int i = sent.getAndIncrement();
            if (i >= total) {
                return;
            }
            long scheduled = start + i * periodNanos;
            if (inFlight.get() >= maxInFlight) {
                outcomes.merge("dropped (over max in-flight)", 1, Integer::sum);
                return;
            }
            long t0 = System.nanoTime();
            int which = i % bodies.size();
            // aud: the URL of the endpoint called, below the discovery URL (paths are /cds-services/{id})
            String endpoint = audience + paths.get(which).substring("/cds-services".length());
            String token = TestTokens.sign(key, JWSAlgorithm.ES384, TestTokens.claims(iss, endpoint).build());
            signNanos.addAndGet(System.nanoTime() - t0);
            HttpRequest request = HttpRequest.newBuilder(target.resolve(paths.get(which)))
                    .timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json")
                    .header("Authorization", "Bearer " + token)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(bodies.get(which))).build();
            inFlight.incrementAndGet();
            http.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((r, e) -> {
                latencyMicros[i] = (System.nanoTime() - scheduled) / 1000;
                outcomes.merge(e != null ? "error " + e.getClass().getSimpleName() : "HTTP " + r.statusCode(), 1, Integer::sum);
                inFlight.decrementAndGet();
            });
        }, 0, periodNanos, TimeUnit.NANOSECONDS);
        while (sent.get() < total) {
            Thread.sleep(50);
        }
        ticker.shutdownNow();
        long sendEnd = System.nanoTime();
        long drainDeadline = sendEnd + TimeUnit.SECONDS.toNanos(35);
        while (inFlight.get() > 0 && System.nanoTime() < drainDeadline) {
            Thread.sleep(20);
        }
        long end = System.nanoTime();
        if (!report) {
            return true;
        }
        long[] done = Arrays.stream(latencyMicros).filter(l -> l >= 0).sorted().toArray();
        int ok = outcomes.getOrDefault("HTTP 200", 0);
        int failed = total - ok;
        double elapsed = (end - start) / 1e9;
        System.out.println("---- load-test result ----");
        System.out.printf("target rate      %d req/s for %d s (%d requests, each with a fresh ES384 JWT)%n", rate, seconds, total);
        System.out.printf("completed        %d in %.1f s -> throughput %.1f req/s (200 OK: %.1f req/s)%n",
                done.length, elapsed, done.length / elapsed, ok / elapsed);
        System.out.printf("outcomes         %s%n", outcomes);
        System.out.printf("errors           %d (non-200, transport errors, dropped, unfinished: %d)%n", failed, total - done.length);
        if (done.length > 0) {
            System.out.printf("latency (ms)     p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (from scheduled send time)%n",
                    pct(done, 50), pct(done, 90), pct(done, 99), done[done.length - 1] / 1000.0);
        }
        System.out.printf("client JWT sign  %.2f ms mean%n", signNanos.get() / 1e6 / Math.max(1, total));
        return failed == 0;
    }

    private static double pct(long[] sorted, double p) {
        int idx = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))] / 1000.0;
    }
}
