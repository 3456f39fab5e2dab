package org.allcds.cds.security;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A raw ServerSocket on 127.0.0.1 that records every connection (and the request head it received),
 * then answers 404. Proves that a refused fhirServer caused no connection at all.
 */
final class ConnectionRecorder implements AutoCloseable {

    private final ServerSocket socket;
    private final AtomicInteger connections = new AtomicInteger();
    private final List<String> heads = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    ConnectionRecorder() throws IOException {
        socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::accept, "connection-recorder");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void accept() {
        while (!socket.isClosed()) {
            try (Socket s = socket.accept()) {
                connections.incrementAndGet();
                s.setSoTimeout(2000);
                InputStream in = s.getInputStream();
                StringBuilder head = new StringBuilder();
                int c;
                while ((c = in.read()) >= 0) {
                    head.append((char) c);
                    if (head.toString().endsWith("\r\n\r\n")) {
                        break;
                    }
                }
                heads.add(head.toString());
                OutputStream out = s.getOutputStream();
                out.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                // closed, or a client that hung up
            }
        }
    }

    int port() {
        return socket.getLocalPort();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port() + "/fhir";
    }

    int connections() {
        return connections.get();
    }

    List<String> requestHeads() {
        return heads;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
