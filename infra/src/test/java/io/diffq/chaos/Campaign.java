package io.diffq.chaos;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One seed's campaign: the cluster, the seeded clients and nemesis for the load's duration, healing, quiescence,
 * the final reads of every accepted job on both gateways, then the checker over the history and the topics.
 */
final class Campaign {

    /** What a run is asked for. */
    record Settings(long seed, Duration duration, int clients, Duration quiescence, Path workDir) {
    }

    private static final Duration FINAL_READ = Duration.ofSeconds(15);

    private Campaign() {
    }

    static CampaignReport run(Settings s) throws Exception {
        List<Fault> plan = FaultSchedule.draw(s.seed(), s.duration().toMillis());
        Nemesis.log("seed %d: %d s of load, %d clients; the nemesis's schedule:", s.seed(), s.duration().toSeconds(),
                s.clients());
        plan.forEach(f -> System.err.println("  " + f));
        Path dir = Files.createDirectories(s.workDir().resolve("seed-" + s.seed()));
        long began = System.currentTimeMillis();
        try (ChaosCluster cluster = ChaosCluster.start(dir)) {
            Nemesis.log("cluster up in %.0f s (logs in %s)", (System.currentTimeMillis() - began) / 1000.0, dir);
            History history = new History();
            RecordingClient http = new RecordingClient(cluster, history);
            Workload workload = new Workload(s.seed(), s.clients(), http);
            Nemesis nemesis = new Nemesis(cluster, plan);
            nemesis.start();
            workload.run(nemesis.began() + s.duration().toMillis());
            long loadEnded = System.currentTimeMillis();
            Nemesis.log("load over: %d requests; healing", history.size());
            nemesis.heal();
            TopicReader topics = new TopicReader(cluster.bootstrapServers());
            long quiet = awaitQuiescence(topics, history, s.quiescence());
            Nemesis.log("quiescent after %.0f s; final reads on both gateways", (quiet - loadEnded) / 1000.0);
            finalReads(http, history);
            TopicContents contents = topics.contents();
            List<Violation> violations = ChaosChecker.check(new CheckInput(history.ops(), contents,
                    ChaosCluster.MAX_ATTEMPTS));
            return CampaignReport.of(s, history.ops(), contents, nemesis, loadEnded, (quiet - loadEnded) / 1000.0,
                    (System.currentTimeMillis() - began) / 1000.0, violations);
        }
    }

    /** Waits until every accepted job has a terminal event, or the bound passes (the checker then says which are lost). */
    private static long awaitQuiescence(TopicReader topics, History history, Duration bound) throws InterruptedException {
        long deadline = System.currentTimeMillis() + bound.toMillis();
        List<String> accepted = history.ops().stream().filter(Op::accepted).map(Op::jobId).distinct().toList();
        while (System.currentTimeMillis() < deadline) {
            Set<String> ended = topics.events().stream().map(TopicContents.Keyed::event)
                    .filter(e -> e.state().isTerminal()).map(JobEvent::jobId).collect(Collectors.toSet());
            long open = accepted.stream().filter(id -> !ended.contains(id)).count();
            if (open == 0) {
                break;
            }
            Nemesis.log("quiescence: %d of %d accepted jobs not finished yet", open, accepted.size());
            Thread.sleep(3_000);
        }
        return System.currentTimeMillis();
    }

    /** Polls every accepted job on both gateways until terminal (at most {@link #FINAL_READ}), fetches each image. */
    private static void finalReads(RecordingClient http, History history) throws InterruptedException {
        Map<String, String> owners = new LinkedHashMap<>();
        history.ops().stream().filter(Op::accepted).forEach(op -> owners.putIfAbsent(op.jobId(), op.apiKey()));
        for (Map.Entry<String, String> job : owners.entrySet()) {
            for (int g = 0; g < TerminalStateCheck.GATEWAYS; g++) {
                Optional<Op> last = Optional.empty();
                long deadline = System.currentTimeMillis() + FINAL_READ.toMillis();
                while (last.isEmpty() || !isTerminal(last.get()) && System.currentTimeMillis() < deadline) {
                    if (last.isPresent()) {
                        Thread.sleep(500);
                    }
                    last = Optional.of(http.poll(-1, Op.FINAL, g, job.getValue(), job.getKey()));
                }
                if ("SUCCEEDED".equals(last.get().state())) {
                    http.image(-1, Op.FINAL, g, job.getValue(), job.getKey());
                }
            }
        }
    }

    private static boolean isTerminal(Op op) {
        return op.status() == 200 && op.state() != null
                && JobState.valueOf(op.state()).isTerminal();
    }
}
