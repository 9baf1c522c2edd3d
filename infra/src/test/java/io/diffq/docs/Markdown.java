package io.diffq.docs;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the documentation tests read of a Markdown text: its headings with GitHub's anchors, and its inline links. */
public final class Markdown {

    private static final Pattern ATX_HEADING = Pattern.compile("^(#{1,6})[ \\t]+(.*?)(?:[ \\t]+#+)?[ \\t]*$");
    private static final Pattern FENCE = Pattern.compile("^ {0,3}(```|~~~)");
    private static final Pattern INLINE_LINK = Pattern.compile("\\[([^\\]]*)]\\([^)]*\\)");
    /** What GitHub keeps of a heading's text in its anchor: letters, digits, connectors such as {@code _}, spaces, {@code -}. */
    private static final Pattern NOT_IN_ANCHOR = Pattern.compile("[^\\p{L}\\p{M}\\p{N}\\p{Pc} -]");
    /** A code span: a run of backticks, its text, the same run again. */
    private static final Pattern CODE_SPAN = Pattern.compile("(`+)(.+?)\\1");
    /** An inline link or image, {@code [text](target)} or {@code [text](target "title")}. */
    private static final Pattern LINK = Pattern.compile("\\[([^\\]]*)]\\(([^)\\s]*)(?:\\s+\"[^\"]*\")?\\)");

    private Markdown() {
    }

    /** A Markdown heading: its level (1 for {@code #}), its text as written, and the anchor GitHub gives it. */
    public record Heading(int level, String text, String anchor) {
    }

    /** An inline link: the line it is on (1 for the first) and its target as written ({@code path}, {@code path#anchor}, {@code #anchor}). */
    public record Link(int line, String target) {
    }

    /** The ATX headings of a Markdown text, outside fenced code, with GitHub's anchors (repeats get -1, -2, …). */
    public static List<Heading> headings(String markdown) {
        List<Heading> headings = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        boolean fenced = false;
        for (String line : markdown.split("\n", -1)) {
            if (FENCE.matcher(line).find()) {
                fenced = !fenced;
                continue;
            }
            Matcher m = ATX_HEADING.matcher(line);
            if (fenced || !m.matches()) {
                continue;
            }
            String slug = slug(m.group(2));
            int n = seen.merge(slug, 1, Integer::sum);
            headings.add(new Heading(m.group(1).length(), m.group(2), n == 1 ? slug : slug + "-" + (n - 1)));
        }
        return headings;
    }

    /**
     * The anchor GitHub derives from a heading's text: the rendered text (link targets and code marks
     * dropped) in lower case, without punctuation other than {@code -} and {@code _}, each space a {@code -}.
     */
    public static String slug(String headingText) {
        String text = INLINE_LINK.matcher(headingText).replaceAll("$1");
        return NOT_IN_ANCHOR.matcher(text.toLowerCase(Locale.ROOT)).replaceAll("").replace(' ', '-');
    }

    /** The inline links and images of a Markdown text, outside fenced code and code spans, in text order. */
    public static List<Link> links(String markdown) {
        List<Link> links = new ArrayList<>();
        boolean fenced = false;
        String[] lines = markdown.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (FENCE.matcher(lines[i]).find()) {
                fenced = !fenced;
                continue;
            }
            if (fenced) {
                continue;
            }
            // A code span inside a link's text stays text; one that only looks like a link is no link.
            String text = CODE_SPAN.matcher(lines[i]).replaceAll("code");
            Matcher m = LINK.matcher(text);
            while (m.find()) {
                links.add(new Link(i + 1, m.group(2)));
            }
        }
        return links;
    }
}
