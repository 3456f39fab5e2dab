package org.allcds.cds.cards;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.commonmark.parser.Parser;
import org.commonmark.renderer.html.HtmlRenderer;
import org.commonmark.renderer.text.TextContentRenderer;

/** Values worked out by the CQL enter card markdown as text: nothing in them is read as markdown or HTML. */
class CardTextEscapingTest {

    private static final String PAYLOAD = "mg\n# Heading [x](javascript:alert(1)) <img src=x onerror=alert(1)> | a & b";

    @Test
    void punctuationIsBackslashEscapedHtmlBecomesEntitiesAndLineBreaksSpaces() {
        assertThat(CardFactory.text(PAYLOAD)).isEqualTo(
                "mg \\# Heading \\[x\\]\\(javascript\\:alert\\(1\\)\\) &lt;img src\\=x onerror\\=alert\\(1\\)&gt; \\| a &amp; b");
        assertThat(CardFactory.text("a\r\nb\tc\u0000d\u2028e\u0085f")).isEqualTo("a  b c d e f");
        assertThat(CardFactory.text("ANC 0.4 10*9/L (low) on 2024-01-02")).isEqualTo("ANC 0\\.4 10\\*9\\/L \\(low\\) on 2024\\-01\\-02");
        assertThat(CardFactory.text("plain words ≥ 5 µL")).isEqualTo("plain words ≥ 5 µL");
    }

    @Test
    void aSummaryPlaceholderIsEscaped() {
        assertThat(CardFactory.summary("relapse ({Relapse Site})", Map.of("Relapse Site", "<b>x</b>\n# y")))
                .isEqualTo("relapse (&lt;b&gt;x&lt;\\/b&gt; \\# y)");
    }

    /**
     * What a CommonMark renderer makes of escaped text in a list item: no element but the list's, and as text the
     * value as it was (line breaks and control characters as spaces).
     */
    @Test
    void aCommonMarkRendererShowsTheEscapedTextAsItWas() {
        Parser parser = Parser.builder().build();
        for (String value : List.of(PAYLOAD, "**bold** _it_ `code` ~~s~~ <!-- c --> &amp; &#60; \\ \\*", "1. item", "- item",
                "> quote", "| a | b |\n|---|---|", "![i](http://x/i.png)", "<http://x>", "[r]: http://x", "===")) {
            String item = "- " + CardFactory.text(value) + "\n";
            String html = HtmlRenderer.builder().build().render(parser.parse(item));
            assertThat(html.replaceAll("</?(ul|li)>", "")).as(value).doesNotContain("<");
            String shown = TextContentRenderer.builder().build().render(parser.parse(CardFactory.text(value))).strip();
            assertThat(shown).as(value).isEqualTo(value.replaceAll("[\\r\\n\\t]", " ").strip());
        }
    }
}
