package org.allcds.bench;

import org.allcds.fixtures.LongTreatedPatient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import org.allcds.fixtures.CardMatcher;

/**
 * Prints, for each N, the request size and the cards the service answers, and how they compare with the fixture's
 * expected cards; with an output directory, writes request-N.json there (scripts/load.sh sends request-300.json).
 * Usage: CheckRequests [outDir] [n...]
 */
public final class CheckRequests {
    public static void main(String[] args) throws Exception {
        Path out = args.length > 0 ? Path.of(args[0]) : null;
        List<Integer> sizes = args.length > 1
                ? java.util.Arrays.stream(args).skip(1).map(Integer::valueOf).toList()
                : List.of(30, 300, 3000, 10000);
        ObjectMapper json = new ObjectMapper();
        try (ServiceHarness harness = new ServiceHarness()) {
            for (int n : sizes) {
                byte[] body = LongTreatedPatient.requestBytes(n, LocalDate.now());
                JsonNode answer = json.readTree(harness.call(body));
                List<String> mismatches = CardMatcher.mismatches(LongTreatedPatient.fixture().expectedCards(), answer);
                System.out.printf("N=%-6d bytes=%-9d cards=%s %s%n", n, body.length, CardMatcher.actualLabels(answer),
                        mismatches.isEmpty() ? "(= fixture's expected cards)" : "differs from fixture: " + mismatches);
                if (out != null) {
                    Files.createDirectories(out);
                    Files.write(out.resolve("request-" + n + ".json"), body);
                }
            }
        }
    }
}
