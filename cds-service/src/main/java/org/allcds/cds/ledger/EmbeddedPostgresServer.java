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
        Path directory = dataDir.resolve("postgres").toAbsolutePath().normalize();
        Long running = runningPostmaster(directory);
        if (running != null) {
            throw new UncheckedIOException("the ledger's embedded PostgreSQL cannot start: another PostgreSQL (PID " + running
                    + ") is running on its data directory " + directory + " (another instance of the service, or one left"
                    + " running by a service that was killed); stop it, give this instance its own all-cds.data-dir, or set"
                    + " spring.datasource.url", new IOException("postmaster.pid names a running postgres"));
        }
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

    /** The PID in the data directory's postmaster.pid when that process is a running postgres; null otherwise. */
    private static Long runningPostmaster(Path directory) {
        try {
            long pid = Long.parseLong(Files.readAllLines(directory.resolve("postmaster.pid")).get(0).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).flatMap(p -> p.info().command())
                    .filter(command -> command.endsWith("/postgres")).map(command -> pid).orElse(null);
        } catch (IOException | RuntimeException e) {
            return null; // no such file, or no PID in it: PostgreSQL itself decides
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
