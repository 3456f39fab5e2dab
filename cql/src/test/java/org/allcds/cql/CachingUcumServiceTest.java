package org.allcds.cql;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import org.fhir.ucum.Decimal;
import org.fhir.ucum.UcumEssenceService;
import org.fhir.ucum.UcumService;
import org.junit.jupiter.api.Test;

/** The unit cache answers as UCUM Essence itself, value by value (scale included), for the units labs use. */
class CachingUcumServiceTest {

    private static final UcumService STOCK = stock();
    private static final CachingUcumService CACHED = new CachingUcumService(STOCK);

    private static UcumService stock() {
        try {
            return new UcumEssenceService(UcumEssenceService.class.getResourceAsStream("/ucum-essence.xml"));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void everyConversionIsUcumEssencesOwn() throws Exception {
        String[] values = {"0", "0.0", "0.00", "0.50", "5.00", "4.5", "310", "1500", "12.50", "250000000000.0", "0.000001", "100", "120.0", "7", "0.1", "99.90"};
        String[][] pairs = {{"%", "%"}, {"10*9/L", "10*9/L"}, {"10*3/uL", "10*9/L"}, {"/uL", "10*9/L"},
                {"g/L", "g/dL"}, {"g/dL", "g/L"}, {"/mm3", "10*9/L"}, {"10*6/L", "/uL"}};
        for (String v : values) {
            for (String[] pair : pairs) {
                String stock = STOCK.convert(new Decimal(v), pair[0], pair[1]).asDecimal();
                assertThat(CACHED.convert(new Decimal(v), pair[0], pair[1]).asDecimal())
                        .as("%s %s -> %s", v, pair[0], pair[1]).isEqualTo(stock);
                assertThat(CACHED.convertByFactor(new BigDecimal(v), pair[0], pair[1]))
                        .as("%s %s -> %s by factor", v, pair[0], pair[1]).isEqualTo(new BigDecimal(stock));
            }
        }
    }
}
