package io.diffq.system;

import static io.diffq.system.Cluster.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import io.diffq.common.kafka.Topics;
import io.diffq.testing.KafkaBrokerProcess;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * diffq on a three-node KRaft cluster, every part a real process: the gateway creates its topics with three
 * replicas and {@code min.insync.replicas} 2. Killing (kill -9) the broker that leads the most job partitions
 * while jobs are submitted and run loses no accepted job and gives none two terminal states; a submit during
 * the failover is either accepted or refused with 503, never a 500. With one broker left no write can have two
 * copies, so a submit is refused with 503 and {@code Retry-After}, not accepted on one copy.
 */
@Tag("abuse")
class ReplicatedClusterIntegrationTests {

    @Test
    void killingTheLeadingBrokerLosesNoAcceptedJobAndOneBrokerLeftRefusesSubmitsWith503(@TempDir Path dir)
            throws Exception {
        try (Cluster cluster = new Cluster(dir, 3);
                Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers(),
                        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000))) {
            Http api = cluster.gateway("--diffq.topics.replicas=3");
            cluster.worker("--diffq.worker.simulated.latency=50ms");
            cluster.worker("--diffq.worker.simulated.latency=50ms");
            assertReplicatedTopics(admin);

            List<String> accepted = new CopyOnWriteArrayList<>();
            Map<Integer, Integer> refused = new ConcurrentHashMap<>();
            Thread client = new Thread(() -> {
                for (int i = 0; i < 300; i++) {
                    HttpResponse<byte[]> r = api.post("/v1/jobs",
                            "{\"prompt\":\"replicated " + i + "\",\"width\":16,\"height\":16,\"steps\":2}");
                    if (r.statusCode() == 202) {
                        accepted.add(Http.json(r).get("id").asString());
                    } else {
                        refused.merge(r.statusCode(), 1, Integer::sum);
                    }
                    sleep(30);
                }
            });
            client.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> accepted.size() >= 60);

            KafkaBrokerProcess leader = leaderOfMostJobPartitions(admin, cluster.brokers());
            leader.kill();

            client.join(180_000);
            System.out.printf("replicated cluster: node %d killed; %d submits accepted, refused by status %s%n",
                    leader.nodeId(), accepted.size(), refused);
            assertThat(refused.keySet()).as("answers other than 202 during the failover").isSubsetOf(Set.of(503));
            assertThat(accepted.size()).as("most submits were accepted").isGreaterThan(200);
            await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(2)).until(() ->
                    terminal(cluster.events(), accepted) == accepted.size());
            Map<String, List<JobEvent>> events = cluster.events();
            for (String id : accepted) {
                Set<JobState> terminals = events.get(id).stream().map(JobEvent::state)
                        .filter(JobState::isTerminal).collect(Collectors.toSet());
                assertThat(terminals).as("terminal states of %s", id).containsExactly(JobState.SUCCEEDED);
            }
            assertThat(status(api, accepted.get(accepted.size() - 1)).get("state").asString()).isEqualTo("SUCCEEDED");

            // One broker left: no write can reach two replicas, and the gateway says so instead of accepting it.
            cluster.brokers().stream().filter(KafkaBrokerProcess::isRunning).findFirst().orElseThrow().kill();
            HttpResponse<byte[]> lonely = api.post("/v1/jobs", "{\"prompt\":\"one copy only\"}");
            assertThat(lonely.statusCode()).isEqualTo(503);
            assertThat(lonely.headers().firstValue("Retry-After")).isPresent();
            assertThat(lonely.headers().firstValue("Content-Type")).hasValueSatisfying(
                    t -> assertThat(t).startsWith("application/problem+json"));
        }
    }

    private static void assertReplicatedTopics(Admin admin) throws Exception {
        await().atMost(Duration.ofSeconds(60)).until(() -> admin.listTopics().names().get().contains(Topics.JOBS));
        for (String topic : List.of(Topics.JOBS, Topics.JOB_EVENTS, Topics.RESULTS)) {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS)
                    .get(topic);
            assertThat(d.partitions()).allSatisfy(p -> assertThat(p.replicas()).hasSize(3));
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config config = admin.describeConfigs(List.of(resource)).all().get(10, TimeUnit.SECONDS).get(resource);
            ConfigEntry minInSync = config.get(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG);
            assertThat(minInSync.value()).as(topic).isEqualTo("2");
            // Set on the topic by the gateway, not only the brokers' default.
            assertThat(minInSync.source()).as(topic).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
        }
    }

    private static KafkaBrokerProcess leaderOfMostJobPartitions(Admin admin, List<KafkaBrokerProcess> brokers)
            throws Exception {
        Map<Integer, Integer> led = new HashMap<>();
        admin.describeTopics(List.of(Topics.JOBS)).allTopicNames().get(10, TimeUnit.SECONDS).get(Topics.JOBS)
                .partitions().forEach(p -> led.merge(p.leader().id(), 1, Integer::sum));
        int id = led.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        return brokers.stream().filter(b -> b.nodeId() == id).findFirst().orElseThrow();
    }

    private static long terminal(Map<String, List<JobEvent>> events, List<String> ids) {
        return ids.stream().filter(id -> events.getOrDefault(id, List.of()).stream()
                .anyMatch(e -> e.state().isTerminal())).count();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
