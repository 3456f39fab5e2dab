package org.allcds.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads a JMH JSON result (SampleTime, ms) and prints two markdown tables: N x step with p50/p99 (and the
 * sample count), and the cost per resource (p50 / N, microseconds) with its growth from one N to the next
 * compared with the growth of N (a ratio near 1 is linear).
 */
public final class BenchTable {
    private static final List<String> STEPS = List.of("parse", "data", "cql", "cards", "whole");

    public static void main(String[] args) throws Exception {
        JsonNode runs = new ObjectMapper().readTree(Path.of(args[0]).toFile());
        Map<Integer, Map<String, double[]>> byN = new TreeMap<>();
        for (JsonNode run : runs) {
            String name = run.path("benchmark").asText();
            String step = name.substring(name.lastIndexOf('.') + 1);
            int n = run.path("params").path("n").asInt();
            JsonNode p = run.path("primaryMetric").path("scorePercentiles");
            long samples = 0;
            for (JsonNode iteration : run.path("primaryMetric").path("rawDataHistogram")) {
                for (JsonNode hist : iteration) {
                    for (JsonNode bin : hist) {
                        samples += bin.get(1).asLong();
                    }
                }
            }
            byN.computeIfAbsent(n, k -> new LinkedHashMap<>()).put(step,
                    new double[] {p.path("50.0").asDouble(), p.path("99.0").asDouble(), p.path("100.0").asDouble(), samples});
        }
        StringBuilder out = new StringBuilder();
        out.append("| N | ");
        STEPS.forEach(s -> out.append(s).append(" p50 / p99 ms | "));
        out.append("\n|---:|");
        STEPS.forEach(s -> out.append("---:|"));
        out.append("\n");
        for (var e : byN.entrySet()) {
            out.append("| ").append(String.format("%,d", e.getKey())).append(" | ");
            for (String s : STEPS) {
                double[] v = e.getValue().get(s);
                out.append(v == null ? "–" : String.format("%s / %s", fmt(v[0]), fmt(v[1]))).append(" | ");
            }
            out.append("\n");
        }
        out.append("\nSamples per cell (calls timed): ");
        List<String> counts = new ArrayList<>();
        for (var e : byN.entrySet()) {
            for (String s : STEPS) {
                double[] v = e.getValue().get(s);
                if (v != null) {
                    counts.add("N=" + e.getKey() + " " + s + " " + (long) v[3]);
                }
            }
        }
        out.append(String.join(", ", counts)).append("\n");

        out.append("\nCost per resource (p50 / N, µs), and growth x from the previous N (linear: x ≈ N ratio):\n\n| N | ");
        STEPS.forEach(s -> out.append(s).append(" µs/res (x) | "));
        out.append("\n|---:|");
        STEPS.forEach(s -> out.append("---:|"));
        out.append("\n");
        Map<String, Double> previous = new LinkedHashMap<>();
        Integer previousN = null;
        for (var e : byN.entrySet()) {
            int n = e.getKey();
            out.append("| ").append(String.format("%,d", n)).append(" | ");
            for (String s : STEPS) {
                double[] v = e.getValue().get(s);
                if (v == null) {
                    out.append("– | ");
                    continue;
                }
                String growth = previous.containsKey(s)
                        ? String.format(" (×%.1f for N ×%.1f)", v[0] / previous.get(s), (double) n / previousN) : "";
                out.append(String.format("%.1f%s | ", v[0] * 1000 / n, growth));
                previous.put(s, v[0]);
            }
            previousN = n;
            out.append("\n");
        }
        System.out.print(out);
    }

    private static String fmt(double ms) {
        return ms < 1 ? String.format("%.3f", ms) : ms < 10 ? String.format("%.2f", ms) : String.format("%.1f", ms);
    }
}
