package org.allcds.cds;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The ALL CDS Hooks service: hook protocol at the edge, FHIR data, CQL evaluation and card building behind it. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class AllCdsApplication {

    public static void main(String[] args) {
        SpringApplication.run(AllCdsApplication.class, args);
    }
}
