package org.allcds.cds.timeline;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.web.servlet.MockMvc;

/**
 * The timeline app is served by the service with everything it loads (no internet at run time): its pages, the
 * ECharts WebJar, the fhirclient bundle copied at build time, and the codes table from the service's value sets.
 * None of it is behind the CDS Hooks authentication (which covers /cds-services only).
 */
@SpringBootTest(properties = "all-cds.auth.enabled=true")
@AutoConfigureMockMvc
@ActiveProfiles("test")
class TimelineAppServedTest {

    @Autowired
    MockMvc mvc;

    @Test
    void pagesScriptsAndLibrariesAreServedWithoutAToken() throws Exception {
        mvc.perform(get("/timeline/index.html")).andExpect(status().isOk())
                .andExpect(content().string(containsString("../webjars/echarts/5.3.1/dist/echarts.min.js")));
        mvc.perform(get("/timeline/launch.html")).andExpect(status().isOk())
                .andExpect(content().string(containsString("FHIR.oauth2.authorize")));
        mvc.perform(get("/timeline/timeline.js")).andExpect(status().isOk());
        mvc.perform(get("/timeline/timeline-data.js")).andExpect(status().isOk());
        mvc.perform(get("/webjars/echarts/5.3.1/dist/echarts.min.js")).andExpect(status().isOk());
        mvc.perform(get("/timeline/vendor/fhir-client.min.js")).andExpect(status().isOk())
                .andExpect(content().string(containsString("oauth2")));
    }

    @Test
    void codesTableComesFromTheServiceValueSets() throws Exception {
        mvc.perform(get("/timeline/codes.json")).andExpect(status().isOk())
                .andExpect(jsonPath("$.marrowBlasts", hasItem("http://loinc.org|11150-0")))
                .andExpect(jsonPath("$.anc", hasItem("http://loinc.org|751-8")))
                .andExpect(jsonPath("$.mrd", hasItem("urn:all-cds:lab|mrd")))
                .andExpect(jsonPath("$.chemotherapy", hasItem("http://snomed.info/sct|367336001")))
                .andExpect(jsonPath("$.transplant", hasItem("http://snomed.info/sct|234336002")))
                .andExpect(jsonPath("$.negativeResult", hasItem("http://snomed.info/sct|260385009")));
    }

    @Test
    void cdsHooksStillNeedAToken() throws Exception {
        mvc.perform(org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post("/cds-services/all-disease-status")
                        .contentType("application/json").content("{}"))
                .andExpect(status().isUnauthorized());
    }
}
