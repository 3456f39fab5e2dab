package org.allcds.cds.ledger;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ledger's database when none is configured: a real PostgreSQL (zonky's binaries from the Maven jar) whose
 * data stays in {@code <all-cds.data-dir>/postgres}, so cards and feedback survive a restart with nothing
 * installed. Listens on a free port of the loopback interface only; stopped with the application.
 */
final class EmbeddedPostgresServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgresServer.class);

    private final EmbeddedPostgres postgres;
    private final Path dataDirectory;

    private EmbeddedPostgresServer(EmbeddedPostgres postgres, Path dataDirectory) {
        this.postgres = postgres;
        this.dataDirectory = dataDirectory;
    }

    static EmbeddedPostgresServer start(Path dataDir) {
        long start = System.nanoTime();
        Path directory = dataDir.resolve("postgres").toAbsolutePath();
        try {
            Files.createDirectories(directory.getParent());
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(directory)
                    .setCleanDataDirectory(false)
                    .setServerConfig("listen_addresses", "localhost")
                    .start();
            log.info("ledger: embedded PostgreSQL on localhost:{}, data in {} (started in {} ms)", postgres.getPort(),
                    directory, (System.nanoTime() - start) / 1_000_000);
            return new EmbeddedPostgresServer(postgres, directory);
        } catch (IOException e) {
            throw new UncheckedIOException("the ledger's embedded PostgreSQL did not start (data directory " + directory
                    + "); set spring.datasource.url, or all-cds.ledger.enabled=false", e);
        }
    }

    String jdbcUrl() {
        return postgres.getJdbcUrl("postgres", "postgres");
    }

    Path dataDirectory() {
        return dataDirectory;
    }

    @Override
    public void close() throws IOException {
        postgres.close();
    }
}
