package io.diffq.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.docs.Markdown.Heading;
import io.diffq.docs.Markdown.Link;
import io.diffq.observability.Repo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every relative link of the newcomer's pages (README.md, docs/*.md, tools/tiny-model/README.md) names a file or
 * folder of the repository, and where it names an anchor, a heading of that file with that anchor (GitHub's).
 * Links with a scheme (https:, mailto:) are not followed.
 */
class DocLinksTests {

    /** A URI scheme: {@code https:}, {@code mailto:}, … */
    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");

    @Test
    void everyRelativeLinkOfTheDocsResolves() {
        List<Path> pages = pages(Repo.ROOT);
        assertThat(pages).as("the pages checked").contains(
                Repo.ROOT.resolve("README.md"), Repo.ROOT.resolve("docs/api.md"),
                Repo.ROOT.resolve("docs/operations.md"), Repo.ROOT.resolve("tools/tiny-model/README.md"));

        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Path page : pages) {
            List<Link> links = Markdown.links(read(page));
            checked += links.size();
            problems.addAll(problems(Repo.ROOT, page, links));
        }

        assertThat(checked).as("links found (a check that finds none proves nothing)").isGreaterThan(50);
        assertThat(problems).isEmpty();
    }

    /** The check above could pass by never looking: a broken path or anchor must be reported, a good one not. */
    @Test
    void aBrokenLinkIsReported(@TempDir Path root) throws IOException {
        Files.createDirectories(root.resolve("docs"));
        Files.createDirectories(root.resolve("infra/k8s"));
        Files.writeString(root.resolve("docs/b.md"), "# B\n\n## Partitions of `diffq.jobs`\n\n## A\n\n## A\n");
        Path page = root.resolve("docs/a.md");
        Files.writeString(page, """
                # A page

                [fine](b.md), [anchor](b.md#partitions-of-diffqjobs), [repeat](b.md#a-1), [up](../infra/k8s),
                [here](#a-page), ![image](b.md), [web](https://example.com/x.md#y), [mail](mailto:a@b.c)
                [gone](c.md) and [wrong anchor](b.md#partitions) and [none here](#nowhere) and [repeat](b.md#a-2)
                [outside](../../etc/passwd) `[code](span.md)`

                ```
                [fenced](nothing.md)
                ```
                """);

        assertThat(problems(root, page, Markdown.links(Files.readString(page)))).containsExactly(
                "docs/a.md:5: c.md: no such file",
                "docs/a.md:5: b.md#partitions: docs/b.md has no heading with anchor #partitions",
                "docs/a.md:5: #nowhere: docs/a.md has no heading with anchor #nowhere",
                "docs/a.md:5: b.md#a-2: docs/b.md has no heading with anchor #a-2",
                "docs/a.md:6: ../../etc/passwd: outside the repository");
    }

    @Test
    void linksAreReadAsGitHubRendersThem() {
        assertThat(Markdown.links("[`infra/k8s/README.md`](../infra/k8s/README.md) and [t](x.md \"title\")"))
                .extracting(Link::target).containsExactly("../infra/k8s/README.md", "x.md");
        assertThat(Markdown.links("`errors[0](x)` is code, and so is\n```\n[a](b.md)\n```\n")).isEmpty();
    }

    /** README.md, docs/*.md and tools/tiny-model/README.md under {@code root}, those that exist. */
    static List<Path> pages(Path root) {
        List<Path> pages = new ArrayList<>();
        pages.add(root.resolve("README.md"));
        try (Stream<Path> docs = Files.list(root.resolve("docs"))) {
            docs.filter(p -> p.getFileName().toString().endsWith(".md")).sorted().forEach(pages::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        pages.add(root.resolve("tools/tiny-model/README.md"));
        return pages.stream().filter(Files::isRegularFile).toList();
    }

    /** What is wrong with the links of {@code page}: each as {@code page:line: target: why}. */
    static List<String> problems(Path root, Path page, List<Link> links) {
        List<String> problems = new ArrayList<>();
        for (Link link : links) {
            String target = link.target();
            if (target.isEmpty() || SCHEME.matcher(target).find()) {
                continue;
            }
            int hash = target.indexOf('#');
            String path = URLDecoder.decode(hash < 0 ? target : target.substring(0, hash), StandardCharsets.UTF_8);
            String anchor = hash < 0 ? null : target.substring(hash + 1);
            Path file = path.isEmpty() ? page
                    : (path.startsWith("/") ? root.resolve(path.substring(1)) : page.getParent().resolve(path)).normalize();
            String where = root.relativize(page) + ":" + link.line() + ": " + target + ": ";
            if (!file.startsWith(root)) {
                problems.add(where + "outside the repository");
            } else if (!Files.exists(file)) {
                problems.add(where + "no such file");
            } else if (anchor != null && !anchors(file).contains(anchor)) {
                problems.add(where + root.relativize(file) + " has no heading with anchor #" + anchor);
            }
        }
        return problems;
    }

    private static List<String> anchors(Path file) {
        if (!Files.isRegularFile(file) || !file.getFileName().toString().endsWith(".md")) {
            return List.of();
        }
        return Markdown.headings(read(file)).stream().map(Heading::anchor).toList();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
