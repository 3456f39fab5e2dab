package org.allcds.cds.config;

import jakarta.servlet.ServletException;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;
import org.apache.coyote.ActionCode;

/**
 * When the application answered without reading the whole request body (a 401 before the body, a 413
 * on the declared length, discovery called with a body), the connection is closed after the answer
 * instead of Tomcat reading ("swallowing") the rest of the body on the worker thread. A client that
 * sends its body one byte every few seconds would otherwise hold a worker until the body ends or the
 * read times out; enough of them, without any credentials, hold every worker.
 */
public class UnreadBodyValve extends ValveBase {

    public UnreadBodyValve() {
        super(true);
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        getNext().invoke(request, response);
        if (request.isAsync()) {
            return;
        }
        AtomicBoolean fullyRead = new AtomicBoolean(true);
        request.getCoyoteRequest().action(ActionCode.REQUEST_BODY_FULLY_READ, fullyRead);
        if (!fullyRead.get()) {
            if (!response.isCommitted()) {
                // say so: a client that keeps the connection for its next call would meet it closed
                response.setHeader("Connection", "close");
            }
            request.getCoyoteRequest().action(ActionCode.DISABLE_SWALLOW_INPUT, null);
        }
    }
}
