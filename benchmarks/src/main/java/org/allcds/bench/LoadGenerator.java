package org.allcds.bench;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A closed-loop load generator (java.net.http, HTTP/1.1): for each concurrency level, that many workers send the
 * same POST back to back until the level's time or call budget is spent. Loopback addresses only.
 *
 * <pre>
 * LoadGenerator run URL BODY_FILE LABEL RESULTS_TSV [levels=1,2,8] [seconds=60] [maxCalls=100000] [warmupCalls=5]
 * LoadGenerator compare OURS_TSV PEER_TSV
 * </pre>
 * Each level appends a line to RESULTS_TSV: label, concurrency, calls, errors, seconds, calls/s, p50, p99, max (ms).
 */
public final class LoadGenerator {

    public static void main(String[] args) throws Exception {
        if (args[0].equals("compare")) {
            compare(Path.of(args[1]), Path.of(args[2]));
            return;
        }
        URI uri = URI.create(args[1]);
        if (!InetAddress.getByName(uri.getHost()).isLoopbackAddress()) {
            throw new IllegalArgumentException("loopback only: " + uri.getHost());
        }
        byte[] body = Files.readAllBytes(Path.of(args[2]));
        String label = args[3];
        Path results = Path.of(args[4]);
        int[] levels = Arrays.stream((args.length > 5 ? args[5] : "1,2,8").split(",")).mapToInt(Integer::parseInt).toArray();
        double seconds = args.length > 6 ? Double.parseDouble(args[6]) : 60;
        int maxCalls = args.length > 7 ? Integer.parseInt(args[7]) : 100_000;
        int warmup = args.length > 8 ? Integer.parseInt(args[8]) : 5;

        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest request = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();

        for (int i = 0; i < warmup; i++) { // not counted: the first calls of a fresh process
            HttpResponse<byte[]> r = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
            if (i == 0) {
                System.out.printf("%s: warm-up call -> HTTP %d, %d bytes%n", label, r.statusCode(), r.body().length);
            }
        }
        System.out.printf("%-6s %5s %7s %6s %7s %9s %9s %9s %9s%n", "who", "conc", "calls", "errors", "secs", "calls/s",
                "p50 ms", "p99 ms", "max ms");
        for (int level : levels) {
            long[] latencies = new long[maxCalls];
            AtomicInteger next = new AtomicInteger();
            AtomicInteger errors = new AtomicInteger();
            long start = System.nanoTime();
            long deadline = start + (long) (seconds * 1e9);
            ExecutorService pool = Executors.newFixedThreadPool(level);
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < level; w++) {
                workers.add(pool.submit(() -> {
                    while (System.nanoTime() < deadline) {
                        int slot = next.getAndIncrement();
                        if (slot >= maxCalls) {
                            return null;
                        }
                        long t0 = System.nanoTime();
                        try {
                            HttpResponse<byte[]> r = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
                            if (r.statusCode() != 200) {
                                errors.incrementAndGet();
                            }
                        } catch (Exception e) {
                            errors.incrementAndGet();
                        }
                        latencies[slot] = System.nanoTime() - t0;
                    }
                    return null;
                }));
            }
            for (Future<?> f : workers) {
                f.get();
            }
            pool.shutdown();
            double elapsed = (System.nanoTime() - start) / 1e9;
            int calls = Math.min(next.get(), maxCalls);
            // a slot taken after the deadline by a worker that then stopped holds 0: drop those
            long[] done = Arrays.stream(latencies, 0, calls).filter(v -> v > 0).sorted().toArray();
            String line = String.format(Locale.ROOT, "%s\t%d\t%d\t%d\t%.1f\t%.2f\t%.1f\t%.1f\t%.1f", label, level, done.length,
                    errors.get(), elapsed, done.length / elapsed, pct(done, 0.50), pct(done, 0.99),
                    done.length == 0 ? 0 : done[done.length - 1] / 1e6);
            String[] f = line.split("\t");
            System.out.printf("%-6s %5s %7s %6s %7s %9s %9s %9s %9s%n", (Object[]) f);
            Files.writeString(results, line + "\n", java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        }
    }

    private static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
    }

    private static void compare(Path ours, Path peer) throws Exception {
        List<String[]> a = Files.readAllLines(ours).stream().map(l -> l.split("\t")).toList();
        List<String[]> b = Files.readAllLines(peer).stream().map(l -> l.split("\t")).toList();
        System.out.printf("%5s %14s %14s %16s %16s%n", "conc", "ours p50 ms", "peer p50 ms", "p50 peer/ours", "calls/s ours/peer");
        for (String[] x : a) {
            for (String[] y : b) {
                if (x[1].equals(y[1])) {
                    double p50a = Double.parseDouble(x[6]);
                    double p50b = Double.parseDouble(y[6]);
                    double cpsA = Double.parseDouble(x[5]);
                    double cpsB = Double.parseDouble(y[5]);
                    System.out.printf(Locale.ROOT, "%5s %14.1f %14.1f %15.1fx %15.1fx%n", x[1], p50a, p50b,
                            p50b / p50a, cpsB == 0 ? Double.NaN : cpsA / cpsB);
                }
            }
        }
    }
}
