package io.diffq.launcher;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The shipped {@code prometheus.yml} pointed at processes on other ports: its local targets are the default ports
 * (the gateway's management {@code localhost:8081}, its API {@code localhost:8080}, a worker {@code localhost:8091},
 * Prometheus {@code localhost:9090}); the copy names the ports the processes run on, and every worker where the
 * shipped file names one (a block-list item becomes one item per worker, a flow-list entry all of them).
 */
public final class PrometheusTargets {

    public static final int GATEWAY_MANAGEMENT = 8081;
    public static final int GATEWAY = 8080;
    public static final int WORKER = 8091;
    public static final int SELF = 9090;

    private static final String HOST = "(?:localhost|127\\.0\\.0\\.1)";
    private static final Pattern WORKER_ITEM = Pattern.compile(
            "^(\\s*-\\s*)([\"']?)" + HOST + ":" + WORKER + "\\2(\\s*(?:#.*)?)$");
    private static final Pattern WORKER_ENTRY = Pattern.compile("([\"']?)" + HOST + ":" + WORKER + "\\1(?![0-9])");

    private PrometheusTargets() {
    }

    /** {@code config} with its local targets on these ports ({@code workers}: at least one). */
    public static String render(String config, int gatewayManagement, int gateway, List<Integer> workers, int self) {
        if (workers.isEmpty()) {
            throw new IllegalArgumentException("no worker port");
        }
        StringBuilder out = new StringBuilder();
        for (String line : config.split("\n", -1)) {
            Matcher item = WORKER_ITEM.matcher(line);
            if (item.matches()) {
                out.append(workers.stream().map(p -> item.group(1) + item.group(2) + "127.0.0.1:" + p + item.group(2)
                        + item.group(3)).collect(Collectors.joining("\n"))).append('\n');
                continue;
            }
            Matcher entry = WORKER_ENTRY.matcher(line);
            StringBuilder replaced = new StringBuilder();
            while (entry.find()) {
                String q = entry.group(1);
                entry.appendReplacement(replaced, Matcher.quoteReplacement(workers.stream()
                        .map(p -> q + "127.0.0.1:" + p + q).collect(Collectors.joining(", "))));
            }
            entry.appendTail(replaced);
            out.append(port(port(port(replaced.toString(), GATEWAY_MANAGEMENT, gatewayManagement), GATEWAY, gateway),
                    SELF, self)).append('\n');
        }
        return out.substring(0, out.length() - 1);
    }

    private static String port(String line, int shipped, int actual) {
        return line.replaceAll(HOST + ":" + shipped + "(?![0-9])", "127.0.0.1:" + actual);
    }
}
