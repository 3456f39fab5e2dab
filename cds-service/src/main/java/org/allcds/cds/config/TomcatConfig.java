package org.allcds.cds.config;

import org.apache.catalina.Container;
import org.apache.catalina.Valve;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;
import org.springframework.boot.web.embedded.tomcat.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

/**
 * The embedded Tomcat: its own error reports are JSON ({@link JsonErrorReportValve}, replacing the
 * HTML one Spring Boot installs, hence the last order), and a body the application did not read is not
 * waited for ({@link UnreadBodyValve}). Connection limits and timeouts are in application.yml.
 */
@Configuration(proxyBeanMethods = false)
public class TomcatConfig implements WebServerFactoryCustomizer<TomcatServletWebServerFactory>, Ordered {

    @Override
    public void customize(TomcatServletWebServerFactory factory) {
        factory.addContextValves(new UnreadBodyValve());
        factory.addContextCustomizers(context -> useJsonErrorReports(context.getParent()));
    }

    private static void useJsonErrorReports(Container host) {
        for (Valve valve : host.getPipeline().getValves()) {
            if (valve instanceof ErrorReportValve) {
                host.getPipeline().removeValve(valve);
            }
        }
        host.getPipeline().addValve(new JsonErrorReportValve());
        if (host instanceof StandardHost standardHost) {
            // else the host adds its default HTML valve when it starts
            standardHost.setErrorReportValveClass(JsonErrorReportValve.class.getName());
        }
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
