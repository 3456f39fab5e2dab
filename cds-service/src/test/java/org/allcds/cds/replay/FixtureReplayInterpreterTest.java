package org.allcds.cds.replay;

import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.ActiveProfiles;

/**
 * Every fixture replayed again with {@code all-cds.evaluation.interpreter=true}: the CQL engine's own
 * interpreter instead of the compiled ELM must give every fixture its expected cards too.
 */
@SpringBootTest(properties = "all-cds.evaluation.interpreter=true")
@AutoConfigureMockMvc
@ActiveProfiles("test")
class FixtureReplayInterpreterTest extends FixtureReplayTest {

    @Override
    boolean interpreterExpected() {
        return true;
    }
}
