package org.allcds.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarizes jdk.ExecutionSample events of a JFR recording: top methods by self time (top frame), and by
 * inclusive time (anywhere on the stack) for the project's own classes and a few library entry points.
 * Usage: HotSpots file.jfr [top]
 */
public final class HotSpots {
    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        if (Files.isDirectory(file)) {
            try (Stream<Path> s = Files.walk(file)) {
                file = s.filter(p -> p.toString().endsWith(".jfr")).findFirst().orElseThrow();
            }
        }
        int top = args.length > 1 ? Integer.parseInt(args[1]) : 25;
        Map<String, Integer> self = new HashMap<>();
        Map<String, Integer> inclusive = new HashMap<>();
        Map<String, Integer> selfByPackage = new HashMap<>();
        int total = 0;
        for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
            if (!e.getEventType().getName().equals("jdk.ExecutionSample") || e.getStackTrace() == null) {
                continue;
            }
            List<RecordedFrame> frames = e.getStackTrace().getFrames();
            if (frames.isEmpty()) {
                continue;
            }
            total++;
            String leaf = name(frames.get(0));
            self.merge(leaf, 1, Integer::sum);
            selfByPackage.merge(group(frames.get(0).getMethod().getType().getName()), 1, Integer::sum);
            Set<String> seen = new HashSet<>();
            for (RecordedFrame f : frames) {
                String n = name(f);
                if (seen.add(n)) {
                    inclusive.merge(n, 1, Integer::sum);
                }
            }
        }
        System.out.println("execution samples: " + total + " (" + file + ")");
        print("self (top frame)", self, total, top, k -> true);
        print("self by library/package group", selfByPackage, total, top, k -> true);
        print("inclusive, project and selected library methods", inclusive, total, top * 2,
                k -> k.startsWith("org.allcds.") || k.contains("CqlEngine.evaluate") || k.contains("JsonParser.parseResource")
                        || k.contains("ParserBase.parseResource") || k.contains("JsonMapper") || k.contains("ObjectMapper.readTree")
                        || k.contains("EvaluationVisitor.visitExpression") || k.contains("ObjectMapper.writeValueAsBytes"));
    }

    private static void print(String title, Map<String, Integer> counts, int total, int top,
            java.util.function.Predicate<String> filter) {
        System.out.println("\n" + title + ":");
        counts.entrySet().stream().filter(e -> filter.test(e.getKey()))
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(top)
                .forEach(e -> System.out.printf("  %5.1f %%  %s%n", 100.0 * e.getValue() / total, e.getKey()));
    }

    private static String name(RecordedFrame f) {
        return f.getMethod().getType().getName() + "." + f.getMethod().getName();
    }

    private static String group(String type) {
        String[][] groups = {
            {"org.opencds.cqf.cql.engine.fhir", "cql engine-fhir (model resolver)"},
            {"org.opencds.cqf.cql.engine", "cql engine"},
            {"org.hl7.elm", "cql elm model"},
            {"org.cqframework", "cql framework"},
            {"ca.uhn.fhir.parser", "HAPI parser"},
            {"ca.uhn.fhir", "HAPI other"},
            {"org.hl7.fhir", "HAPI structures (model objects)"},
            {"com.fasterxml.jackson", "Jackson"},
            {"org.allcds", "project"},
            {"java.util.regex", "java regex"},
            {"java.time", "java.time"},
            {"java.util", "java.util"},
            {"java.lang.invoke", "java reflection/invoke"},
            {"java.lang.reflect", "java reflection/invoke"},
            {"jdk.internal.reflect", "java reflection/invoke"},
            {"java.lang", "java.lang"},
            {"java.math", "java.math"},
            {"org.springframework", "Spring"},
        };
        for (String[] g : groups) {
            if (type.startsWith(g[0])) {
                return g[1];
            }
        }
        return type.contains(".") ? type.substring(0, type.lastIndexOf('.')) : type;
    }
}
