package org.allcds.cql;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Reads the {@code index.txt} the build writes beside classpath resources (a jar cannot be listed). */
final class ClasspathIndex {

    private ClasspathIndex() {}

    static List<String> list(String folder) {
        try (InputStream in = open(folder + "/index.txt");
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            return reader.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static InputStream open(String path) {
        InputStream in = ClasspathIndex.class.getClassLoader().getResourceAsStream(path);
        if (in == null) {
            throw new IllegalStateException("missing classpath resource " + path + " (was the cql module built?)");
        }
        return in;
    }
}
