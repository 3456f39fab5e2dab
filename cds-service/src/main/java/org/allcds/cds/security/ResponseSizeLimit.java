package org.allcds.cds.security;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.http.Header;
import org.apache.http.HttpConnection;
import org.apache.http.HttpEntity;
import org.apache.http.HttpResponse;
import org.apache.http.HttpResponseInterceptor;
import org.apache.http.client.protocol.HttpClientContext;
import org.apache.http.entity.HttpEntityWrapper;
import org.apache.http.protocol.HttpContext;

/**
 * Bounds every FHIR server response body: a declared {@code Content-Length} over the limit is refused
 * before reading, and the body stream itself counts bytes and fails past the limit (chunked or lying
 * responses, and decompressed gzip, since it runs after the client's decompression). Within a hook call
 * ({@link FhirServerCallBudget}) the same stream also counts against the call's byte budget and checks
 * its deadline on every read, so a response dripping a byte at a time is cut when the deadline passes.
 * A body cut short closes its connection at once: closing the stream would otherwise read the rest.
 *
 * <p>An interceptor of the Apache client under HAPI rather than a HAPI {@code IClientInterceptor}: it sees
 * the raw entity before HAPI buffers or parses any of it, whichever HAPI code path reads the body.
 */
public final class ResponseSizeLimit implements HttpResponseInterceptor {

    private final long maxBytes;

    ResponseSizeLimit(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    @Override
    public void process(HttpResponse response, HttpContext context) throws IOException {
        Header length = response.getFirstHeader("Content-Length");
        if (length != null) {
            try {
                if (Long.parseLong(length.getValue().trim()) > maxBytes) {
                    throw new ResponseTooLargeException(maxBytes);
                }
            } catch (NumberFormatException ignored) {
                // the counting stream still bounds it
            }
        }
        FhirServerCallBudget budget = FhirServerCallBudget.current();
        HttpConnection connection = HttpClientContext.adapt(context).getConnection();
        HttpEntity entity = response.getEntity();
        if (entity != null) {
            response.setEntity(new HttpEntityWrapper(entity) {
                @Override
                public InputStream getContent() throws IOException {
                    return new Counting(super.getContent(), maxBytes, budget, connection);
                }

                @Override
                public boolean isRepeatable() {
                    return false;
                }

                @Override
                public void writeTo(java.io.OutputStream out) throws IOException {
                    try (InputStream in = getContent()) {
                        in.transferTo(out);
                    }
                }
            });
        }
    }

    /** The FHIR server's response is larger than {@code all-cds.fhir-server.max-response-bytes}. */
    public static final class ResponseTooLargeException extends IOException {
        ResponseTooLargeException(long max) {
            super("FHIR server response larger than " + max + " bytes");
        }
    }

    private static final class Counting extends FilterInputStream {
        private final long max;
        private final FhirServerCallBudget budget;
        private final HttpConnection connection;
        private long count;

        Counting(InputStream in, long max, FhirServerCallBudget budget, HttpConnection connection) {
            super(in);
            this.max = max;
            this.budget = budget;
            this.connection = connection;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            add(b >= 0 ? 1 : 0);
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n = super.read(buf, off, len);
            add(Math.max(n, 0));
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(n);
            add(skipped);
            return skipped;
        }

        private void add(long n) throws IOException {
            count += n;
            try {
                if (count > max) {
                    throw new ResponseTooLargeException(max);
                }
                if (budget != null) {
                    budget.addBytes(n);
                    budget.checkDeadline();
                }
            } catch (IOException cut) {
                if (connection != null) {
                    connection.shutdown();
                }
                throw cut;
            }
        }
    }
}
