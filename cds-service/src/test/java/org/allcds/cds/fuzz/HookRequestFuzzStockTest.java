package org.allcds.cds.fuzz;

import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.ActiveProfiles;

/**
 * The fuzz run again with every fast path off: the CQL engine's interpreter on stock parts and HAPI's parser
 * for every resource. The same requests must be answered (a card or a clear JSON error, never a 500).
 */
@SpringBootTest(properties = {"all-cds.evaluation.interpreter=true", "all-cds.data.direct-read=false"})
@AutoConfigureMockMvc
@ActiveProfiles("test")
class HookRequestFuzzStockTest extends HookRequestFuzzTest {

    /** The first 2,000 of the same seeded sequence: the interpreter is several times slower per call. */
    @Override
    int requests() {
        return Math.min(2_000, super.requests());
    }
}
