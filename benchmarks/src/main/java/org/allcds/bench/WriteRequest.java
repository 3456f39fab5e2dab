package org.allcds.bench;

import org.allcds.fixtures.LongTreatedPatient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;

/** Writes the generated request of N resources to a file: WriteRequest N file. */
public final class WriteRequest {
    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        Path file = Path.of(args[1]);
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        byte[] body = LongTreatedPatient.requestBytes(n, LocalDate.now());
        Files.write(file, body);
        System.out.println("wrote " + file + ": N=" + n + ", " + body.length + " bytes");
    }
}
