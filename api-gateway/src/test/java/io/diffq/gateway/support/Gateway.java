package io.diffq.gateway.support;

import io.diffq.gateway.GatewayApplication;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/** A gateway instance started in this JVM on free ports, as a separate application context. */
public final class Gateway implements AutoCloseable {

    /**
     * Declares the models tests submit for: a gateway tested alone has no worker to advertise them, and
     * takes a declared model before any worker did (checked against the general limits).
     */
    public static final String SERVED_MODELS = "diffq.gateway.models.served=simulated,tiny";

    private final ConfigurableApplicationContext context;

    private Gateway(ConfigurableApplicationContext context) {
        this.context = context;
    }

    public static Gateway start(String bootstrapServers, String... extraProperties) {
        List<String> args = new ArrayList<>(List.of(
                "--server.port=0",
                "--management.server.port=0",
                "--spring.kafka.bootstrap-servers=" + bootstrapServers,
                "--diffq.topics.partitions=3"));
        for (String p : extraProperties) {
            args.add("--" + p);
        }
        return new Gateway(new SpringApplicationBuilder(GatewayApplication.class).run(args.toArray(String[]::new)));
    }

    public Api api() {
        return new Api(Integer.parseInt(context.getEnvironment().getProperty("local.server.port")));
    }

    /** The management port: health and metrics. */
    public Api managementApi() {
        return new Api(Integer.parseInt(context.getEnvironment().getProperty("local.management.port")));
    }

    /**
     * A detail of the status view's health ({@code jobs}: jobs it holds; {@code recordsRead}: records read since
     * this instance started), as the management port reports it.
     */
    public long statusViewDetail(String name) {
        return managementApi().get("/actuator/health").json().get("components").get("statusView").get("details")
                .get(name).asLong();
    }

    /** One of the instance's beans, for a test that must stop or look into one part of it. */
    public <T> T bean(Class<T> type) {
        return context.getBean(type);
    }

    @Override
    public void close() {
        context.close();
    }
}
