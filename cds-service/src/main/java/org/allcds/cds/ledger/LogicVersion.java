package org.allcds.cds.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import org.allcds.cql.ValueSetRepository;

/**
 * Which logic decided a card: the CQL libraries' names and versions and a hash of the ELM and of the value sets
 * in use, e.g. {@code ALLDiseaseStatus 1.2.0, ALLCommon 1.0.0; logic 3f2a...} (worked out once at start-up).
 * Two deployments with the same text decided with the same logic, thresholds aside (those are configuration).
 */
public final class LogicVersion {

    private static final ObjectMapper JSON = new ObjectMapper();

    private LogicVersion() {}

    public static String of(ValueSetRepository valueSets) {
        MessageDigest digest = sha256();
        TreeMap<String, String> versions = new TreeMap<>();
        for (String file : elmFiles()) {
            byte[] elm = read("elm/" + file);
            digest.update(file.getBytes(StandardCharsets.UTF_8));
            digest.update(elm);
            try {
                JsonNode identifier = JSON.readTree(elm).path("library").path("identifier");
                versions.put(identifier.path("id").asText(file), identifier.path("version").asText("?"));
            } catch (IOException e) {
                throw new UncheckedIOException("ELM " + file + " is not JSON", e);
            }
        }
        for (String url : new java.util.TreeSet<>(valueSets.urls())) {
            digest.update(url.getBytes(StandardCharsets.UTF_8));
            new java.util.TreeSet<>(valueSets.members(url).keySet())
                    .forEach(member -> digest.update(member.getBytes(StandardCharsets.UTF_8)));
        }
        List<String> libraries = new ArrayList<>();
        versions.forEach((name, version) -> libraries.add(name + " " + version));
        return String.join(", ", libraries) + "; logic " + HexFormat.of().formatHex(digest.digest()).substring(0, 16);
    }

    private static List<String> elmFiles() {
        try (InputStream in = open("elm/index.txt");
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            return reader.lines().map(String::strip).filter(l -> l.endsWith(".json")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] read(String path) {
        try (InputStream in = open(path)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InputStream open(String path) {
        InputStream in = LogicVersion.class.getClassLoader().getResourceAsStream(path);
        if (in == null) {
            throw new IllegalStateException("missing classpath resource " + path);
        }
        return in;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
