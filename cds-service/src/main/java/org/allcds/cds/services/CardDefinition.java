package org.allcds.cds.services;

import java.util.Map;

/**
 * A card template keyed by CQL definition names (the CQL decides, this only says how to show it).
 *
 * @param topic the {@code urn:all-cds:card-topic} code
 * @param topicDisplay its display
 * @param kind diagnostic | treatment | status | data-quality (shapes the detail text)
 * @param fires Boolean definition: show the card when true
 * @param indicator fixed indicator, used when {@code indicatorDefinition} is absent or null
 * @param indicatorDefinition String definition giving the indicator
 * @param summary summary template; {@code {Definition Name}} is replaced by its value
 * @param detail markdown paragraph opening the detail
 * @param findings List&lt;String&gt; definition: why the card fired
 * @param evidence List&lt;String&gt; definition: references that made it fire
 * @param tests List&lt;Tuple{system,code,display,name}&gt; definition: ServiceRequest suggestions (standard code and
 *     display on the order, the clinical name in the text and on the button)
 * @param treatmentOptions List&lt;Tuple{code,display,reason}&gt; definition
 * @param extension extra {@code all-cds} extension keys -> definition names
 * @param footer markdown closing the detail (sources, caveats)
 * @param timeline the disease-course timeline link's {@code appContext} keys -> definitions giving a date
 *     (YYYY-MM-DD); a card without it has no timeline link
 * @param remissionUpdates List&lt;Condition&gt; definition: the ALL Conditions a suggestion updates to remission
 */
public record CardDefinition(
        String topic,
        String topicDisplay,
        String kind,
        String fires,
        String indicator,
        String indicatorDefinition,
        String summary,
        String detail,
        String findings,
        String evidence,
        String tests,
        String treatmentOptions,
        Map<String, String> extension,
        String footer,
        Map<String, String> timeline,
        String remissionUpdates) {

    public CardDefinition {
        extension = extension == null ? Map.of() : Map.copyOf(extension);
        // keeps the configured order (the appContext keys as written)
        timeline = timeline == null ? null : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(timeline));
    }
}
