package io.diffq.launcher;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;

/**
 * The {@code server.properties} of one node of a diffq KRaft cluster (one node, or three): what is the launcher's
 * own (node id, roles, listeners on loopback, quorum voters, log.dirs) and diffq's broker settings, the one copy
 * every diffq broker starts with ({@code infra/kafka/broker.properties}, {@code @REPLICAS@} and {@code @MIN_ISR@}
 * filled in for the cluster's size). The local runner and the tests' broker processes both write it from here.
 */
public final class BrokerSettings {

    /** diffq's broker settings, relative to the repository's root. */
    public static final String TEMPLATE = "infra/kafka/broker.properties";

    /** One node: its id (1-based), client port and controller port, all on 127.0.0.1. */
    public record Node(int id, int port, int controllerPort) {

        public String bootstrap() {
            return "127.0.0.1:" + port;
        }
    }

    private BrokerSettings() {
    }

    /** Node {@code self} of {@code cluster}, its data in {@code dataDir}. */
    public static Properties server(Path root, List<Node> cluster, Node self, Path dataDir) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(self.id()));
        p.put("controller.quorum.voters", cluster.stream().map(n -> n.id() + "@127.0.0.1:" + n.controllerPort())
                .collect(Collectors.joining(",")));
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + self.port() + ",CONTROLLER://127.0.0.1:" + self.controllerPort());
        p.put("advertised.listeners", "PLAINTEXT://" + self.bootstrap());
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", dataDir.toString());
        p.putAll(diffq(root, cluster.size()));
        return p;
    }

    /**
     * diffq's broker settings for a cluster of {@code size} nodes: replication {@code size}, and two replicas in sync
     * from three nodes on (one may die without losing an accepted job), else one.
     */
    public static Properties diffq(Path root, int size) {
        try {
            String text = Files.readString(root.resolve(TEMPLATE))
                    .replace("@REPLICAS@", String.valueOf(size))
                    .replace("@MIN_ISR@", size >= 3 ? "2" : "1");
            Properties p = new Properties();
            p.load(new StringReader(text));
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every node's address, for a client's {@code bootstrap.servers}. */
    public static String bootstrap(List<Node> cluster) {
        return cluster.stream().map(Node::bootstrap).collect(Collectors.joining(","));
    }

    /** The repository root: the first of {@code from} and its parents that holds {@link #TEMPLATE}. */
    public static Path findRoot(Path from) {
        for (Path d = from.toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve(TEMPLATE))) {
                return d;
            }
        }
        throw new IllegalStateException(TEMPLATE + " not found from " + from.toAbsolutePath() + " up");
    }
}
