package io.diffq.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A {@link KafkaBrokerProcess} of a test class's own: started at the class's first use of it, killed and its
 * files removed once the class is done, after its {@code @AfterAll} methods and every other extension's. Register
 * it on a static field. A Spring test hands its address to the context and, with {@code @DirtiesContext}, closes
 * the context after the class, before the broker goes (a cached context would keep clients of a broker that is
 * gone, and no other class could use it):
 *
 * <pre>{@code
 * @SpringBootTest
 * @DirtiesContext
 * class SomeIntegrationTests {
 *
 *     @RegisterExtension
 *     static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();
 *
 *     @DynamicPropertySource
 *     static void kafka(DynamicPropertyRegistry registry) {
 *         registry.add("spring.kafka.bootstrap-servers", kafka::bootstrapServers);
 *     }
 * }
 * }</pre>
 */
public final class KafkaBrokerExtension implements BeforeAllCallback {

    private final int partitions;
    private final List<String> topics;
    private Path dir;
    private KafkaBrokerProcess broker;
    private boolean closedAfterClass;

    /** A broker with no topics: the services under test create theirs. */
    public KafkaBrokerExtension() {
        this(1, List.of());
    }

    private KafkaBrokerExtension(int partitions, List<String> topics) {
        this.partitions = partitions;
        this.topics = topics;
    }

    /** A broker on which {@code topics} exist from its start, for a service that waits for another's topics. */
    public static KafkaBrokerExtension withTopics(int partitions, String... topics) {
        return new KafkaBrokerExtension(partitions, List.of(topics));
    }

    @Override
    public synchronized void beforeAll(ExtensionContext context) {
        broker();
        // Once, in the outermost class: a @Nested class's end is not the end of its broker.
        if (!closedAfterClass) {
            closedAfterClass = true;
            context.getStore(ExtensionContext.Namespace.create(KafkaBrokerExtension.class, this))
                    .put("broker", (AutoCloseable) this::close);
        }
    }

    public String bootstrapServers() {
        return broker().bootstrapServers();
    }

    /**
     * The broker, started now if the class has not used it yet (a Spring context of a per-class test instance
     * asks for {@link #bootstrapServers()} before any {@code beforeAll}).
     */
    public synchronized KafkaBrokerProcess broker() {
        if (broker == null) {
            try {
                dir = Files.createTempDirectory("diffq-kafka-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            broker = KafkaBrokerProcess.start(dir);
            if (!topics.isEmpty()) {
                broker.createTopics(partitions, topics.toArray(String[]::new));
            }
        }
        return broker;
    }

    private synchronized void close() throws IOException {
        closedAfterClass = false;
        if (broker == null) {
            return;
        }
        broker.close();
        broker = null;
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
