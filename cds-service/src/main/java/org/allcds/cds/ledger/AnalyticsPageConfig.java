package org.allcds.cds.ledger;

import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.config.annotation.ViewControllerRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/** The analytics page at {@code /analytics}: static files under {@code static/analytics}; its data needs the token. */
@Configuration(proxyBeanMethods = false)
public class AnalyticsPageConfig implements WebMvcConfigurer {

    @Override
    public void addViewControllers(ViewControllerRegistry registry) {
        // the page's relative links (analytics.js, the data) resolve under /analytics/
        registry.addRedirectViewController("/analytics", "/analytics/");
        registry.addViewController("/analytics/").setViewName("forward:/analytics/index.html");
    }
}
