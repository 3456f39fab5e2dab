package org.allcds.cds.replay;

import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.ActiveProfiles;

/**
 * Every fixture replayed again with every fast path off: the CQL engine's own interpreter on stock parts
 * ({@code all-cds.evaluation.interpreter=true}) instead of the compiled ELM, and HAPI's parser for every resource
 * ({@code all-cds.data.direct-read=false}) instead of the direct reader. Every fixture must give its expected
 * cards this way too.
 */
@SpringBootTest(properties = {"all-cds.evaluation.interpreter=true", "all-cds.data.direct-read=false"})
@AutoConfigureMockMvc
@ActiveProfiles("test")
class FixtureReplayInterpreterTest extends FixtureReplayTest {

    @Override
    boolean interpreterExpected() {
        return true;
    }
}
