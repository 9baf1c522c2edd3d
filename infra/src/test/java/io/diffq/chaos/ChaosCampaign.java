package io.diffq.chaos;

import io.diffq.launcher.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * The fault campaign command (not a test): {@code infra/chaos/campaign --seed S --duration 180s --out report.json}.
 * Writes one JSON report per seed and exits 1 when any seed has a violation. See docs/testing.md, "Fault campaign".
 */
public final class ChaosCampaign {

    static final String USAGE = """
            usage: infra/chaos/campaign [--seed S | --seeds A..B | --seeds A,B,C] [--duration 180s] [--out FILE|DIR]
                                        [--clients 6] [--quiescence 300s] [--plan] [--help]
              --seed S          one campaign from seed S (default 1); the same seed draws the same clients' choices
                                and the same fault schedule, so a failing seed replays
              --seeds A..B      several campaigns, one after another (also a list: 3,7,11)
              --duration D      time under load and faults per seed: 180s, 3m (default 180s)
              --out PATH        the report: a file for one seed (default chaos-report.json), a directory for
                                several (default chaos-results/, one seed-S.json each, plus summary.json)
              --clients N       concurrent seeded clients (default 6)
              --quiescence D    longest wait after healing for every accepted job to end (default 300s)
              --plan            print each seed's fault schedule and exit, running nothing
            Exit status: 0 no violation, 1 a violation in some seed, 2 bad usage, 3 a campaign could not run.
            """;

    private ChaosCampaign() {
    }

    public static void main(String[] args) throws Exception {
        CampaignArgs a;
        try {
            a = CampaignArgs.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage() + "\n" + USAGE);
            System.exit(2);
            return;
        }
        if (a.help()) {
            System.out.print(USAGE);
            return;
        }
        if (a.planOnly()) {
            for (long seed : a.seeds()) {
                System.out.println("seed " + seed + ":");
                FaultSchedule.draw(seed, a.duration().toMillis()).forEach(f -> System.out.println("  " + f));
            }
            return;
        }
        JsonMapper json = JsonMapper.builder().build();
        Path work = Files.createTempDirectory("diffq-chaos");
        List<Map<String, Object>> summary = new ArrayList<>();
        int exit = 0;
        for (long seed : a.seeds()) {
            Path out = a.seeds().size() == 1 ? a.out() : a.out().resolve("seed-" + seed + ".json");
            if (out.toAbsolutePath().getParent() != null) {
                Files.createDirectories(out.toAbsolutePath().getParent());
            }
            try {
                CampaignReport r = Campaign.run(new Campaign.Settings(seed, a.duration(), a.clients(), a.quiescence(),
                        work));
                Files.writeString(out, json.writerWithDefaultPrettyPrinter().writeValueAsString(r.json()) + "\n");
                System.out.println(r.summary() + " -> " + out);
                r.violations().stream().limit(20).forEach(v -> System.out.println("  VIOLATION " + v.invariant() + " "
                        + v.jobId() + ": " + v.evidence()));
                summary.add(line(r));
                exit = Math.max(exit, r.violations().isEmpty() ? 0 : 1);
                if (r.violations().isEmpty()) {
                    Trees.delete(work.resolve("seed-" + seed));
                } else {
                    System.out.println("  the services' logs and the brokers' data: " + work.resolve("seed-" + seed));
                }
            } catch (Exception e) {
                System.out.println("seed " + seed + ": the campaign could not run: " + e);
                e.printStackTrace();
                summary.add(Map.of("seed", seed, "error", String.valueOf(e)));
                exit = 3;
            }
        }
        if (a.seeds().size() > 1) {
            Files.writeString(a.out().resolve("summary.json"),
                    json.writerWithDefaultPrettyPrinter().writeValueAsString(summary) + "\n");
        }
        System.exit(exit);
    }


    private static Map<String, Object> line(CampaignReport r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seed", r.seed());
        m.put("durationSeconds", r.durationSeconds());
        m.put("operations", r.operations());
        m.put("accepted", r.accepted());
        m.put("finished", r.finished());
        m.put("faultsByKind", r.faultsByKind());
        m.put("faultsByRole", r.faultsByRole());
        m.put("violations", r.violations().size());
        return m;
    }

    /** The command line, parsed. */
    record CampaignArgs(List<Long> seeds, Duration duration, Path out, int clients, Duration quiescence,
            boolean planOnly, boolean help) {

        static CampaignArgs parse(String[] args) {
            List<Long> seeds = List.of(1L);
            Duration duration = Duration.ofSeconds(180);
            Path out = null;
            int clients = 6;
            Duration quiescence = Duration.ofSeconds(300);
            boolean plan = false;
            boolean help = false;
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "--help", "-h" -> help = true;
                    case "--plan" -> plan = true;
                    case "--seed" -> seeds = List.of(Long.parseLong(value(args, ++i, arg)));
                    case "--seeds" -> seeds = seeds(value(args, ++i, arg));
                    case "--duration" -> duration = duration(value(args, ++i, arg));
                    case "--quiescence" -> quiescence = duration(value(args, ++i, arg));
                    case "--out" -> out = Path.of(value(args, ++i, arg));
                    case "--clients" -> clients = Integer.parseInt(value(args, ++i, arg));
                    default -> throw new IllegalArgumentException("unknown option " + arg);
                }
            }
            if (out == null) {
                out = Path.of(seeds.size() == 1 ? "chaos-report.json" : "chaos-results");
            }
            return new CampaignArgs(seeds, duration, out, clients, quiescence, plan, help);
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[i];
        }

        static List<Long> seeds(String s) {
            if (s.contains("..")) {
                long from = Long.parseLong(s.substring(0, s.indexOf("..")));
                long to = Long.parseLong(s.substring(s.indexOf("..") + 2));
                List<Long> seeds = new ArrayList<>();
                for (long x = from; x <= to; x++) {
                    seeds.add(x);
                }
                return seeds;
            }
            return Arrays.stream(s.split(",")).map(String::trim).map(Long::parseLong).toList();
        }

        static Duration duration(String s) {
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            }
            if (s.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
            }
            return Duration.ofSeconds(Long.parseLong(s.endsWith("s") ? s.substring(0, s.length() - 1) : s));
        }
    }
}
