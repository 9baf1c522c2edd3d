import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Waits until a Kafka broker serves metadata: its cluster description lists at least one node. Used by
 * {@code diffq-local}, run as a single source file on the broker's own class path:
 *
 * <pre>java -cp 'infra/target/kafka/lib/*' infra/local/KafkaReady.java BOOTSTRAP TIMEOUT_SECONDS [PID]</pre>
 *
 * Exit status: 0 ready, 3 not ready within the timeout, 4 the process PID (the broker) exited first
 * (anything else: this check itself failed).
 */
public class KafkaReady {

    public static void main(String[] args) throws InterruptedException {
        if (args.length < 2) {
            System.err.println("usage: KafkaReady BOOTSTRAP TIMEOUT_SECONDS [PID]");
            System.exit(64);
        }
        String bootstrap = args[0];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        long pid = args.length > 2 ? Long.parseLong(args[2]) : -1;

        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "diffq-local-ready-check");

        Admin admin = Admin.create(props);
        String last = "no answer yet";
        while (true) {
            if (pid > 0 && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                System.err.println("broker process " + pid + " exited");
                System.exit(4);
            }
            try {
                int nodes = admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).size();
                if (nodes > 0) {
                    System.exit(0);
                }
                last = "cluster has no nodes yet";
            } catch (Exception e) {
                last = String.valueOf(e.getCause() != null ? e.getCause() : e);
            }
            if (System.nanoTime() > deadline) {
                System.err.println("broker at " + bootstrap + " not ready: " + last);
                System.exit(3);
            }
            Thread.sleep(250);
        }
    }
}
