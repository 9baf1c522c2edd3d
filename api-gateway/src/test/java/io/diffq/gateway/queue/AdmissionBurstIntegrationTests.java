package io.diffq.gateway.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.testing.KafkaBrokerExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A burst between two readings of the queue stops at {@code max-lag}: the gateway counts what it admitted
 * since its last reading (issue 11, defect 6: with the lag sampled every 5 s, 17,161 jobs got in under a
 * bound of 10,000).
 */
@Tag("abuse")
class AdmissionBurstIntegrationTests {

    private static final int MAX_LAG = 50;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @Test
    void aBurstFasterThanTheQueueReadingsStopsAtTheBound() throws Exception {
        // No worker, and no reading of the queue during the burst.
        try (Gateway gateway = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.enabled=false",
                "diffq.queue.monitor-interval=1h",
                "diffq.gateway.backpressure.max-lag=" + MAX_LAG)) {
            Api api = gateway.api();
            ExecutorService pool = Executors.newFixedThreadPool(16);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Api.Response>> answers = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String body = "{\"prompt\":\"burst " + i + "\"}";
                answers.add(pool.submit(() -> {
                    go.await();
                    return api.submit(body);
                }));
            }
            go.countDown();
            List<Api.Response> done = new ArrayList<>();
            for (Future<Api.Response> f : answers) {
                done.add(f.get());
            }
            pool.shutdown();

            // Refused while more than max-lag wait: the one that makes it max-lag + 1 is the last admitted.
            assertThat(done.stream().filter(r -> r.status() == 202).count()).isEqualTo(MAX_LAG + 1);
            List<Api.Response> refused = done.stream().filter(r -> r.status() != 202).toList();
            assertThat(refused).hasSize(200 - MAX_LAG - 1).allSatisfy(r -> {
                assertThat(r.status()).isEqualTo(429);
                assertThat(r.json().get("type").asString()).isEqualTo("https://diffq.io/problems/queue-full");
            });
        }
    }
}
