package org.allcds.cds.security;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.http.Header;
import org.apache.http.HttpEntity;
import org.apache.http.HttpResponse;
import org.apache.http.HttpResponseInterceptor;
import org.apache.http.entity.HttpEntityWrapper;
import org.apache.http.protocol.HttpContext;

/**
 * Bounds every FHIR server response body: a declared {@code Content-Length} over the limit is refused
 * before reading, and the body stream itself counts bytes and fails past the limit (chunked or lying
 * responses, and decompressed gzip, since it runs after the client's decompression).
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
        HttpEntity entity = response.getEntity();
        if (entity != null) {
            response.setEntity(new HttpEntityWrapper(entity) {
                @Override
                public InputStream getContent() throws IOException {
                    return new Counting(super.getContent(), maxBytes);
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
        private long count;

        Counting(InputStream in, long max) {
            super(in);
            this.max = max;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                add(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n = super.read(buf, off, len);
            if (n > 0) {
                add(n);
            }
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
            if (count > max) {
                throw new ResponseTooLargeException(max);
            }
        }
    }
}
