// The broker's request counts by type, and the end offsets of diffq's topics, read from a running broker's JVM
// over JMX (the attach API; no port to open). Two readings some seconds apart, divided by the jobs finished in
// between (the end offset of diffq.results), give the broker's requests per job (docs/benchmarks.md, "The Kafka
// floor"). FetchConsumer and FetchFollower are Fetch again, split by who fetched. Run it with the JDK's
// single-file launcher, as the user that runs the broker:
//   java infra/bench/BrokerRequests.java <broker pid>      (the pid: pgrep -f kafka.Kafka)
import com.sun.tools.attach.VirtualMachine;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class BrokerRequests {

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: java infra/bench/BrokerRequests.java <broker pid>");
            System.exit(2);
        }
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        try (JMXConnector c = JMXConnectorFactory.connect(new JMXServiceURL(vm.startLocalManagementAgent()))) {
            MBeanServerConnection s = c.getMBeanServerConnection();
            Map<String, Long> counts = new TreeMap<>();
            // Requests since the broker started, by type, summed over the protocol versions.
            for (ObjectName n : s.queryNames(
                    new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*"), null)) {
                counts.merge(n.getKeyProperty("request"), (Long) s.getAttribute(n, "Count"), Long::sum);
            }
            for (ObjectName n : s.queryNames(new ObjectName("kafka.log:type=Log,name=LogEndOffset,*"), null)) {
                String topic = n.getKeyProperty("topic");
                if (topic.startsWith("diffq.") || topic.startsWith("__share")) {
                    counts.merge("end-offset:" + topic, ((Number) s.getAttribute(n, "Value")).longValue(),
                            Long::sum);
                }
            }
            counts.forEach((name, count) -> System.out.println(name + " " + count));
        } finally {
            vm.detach();
        }
    }
}
