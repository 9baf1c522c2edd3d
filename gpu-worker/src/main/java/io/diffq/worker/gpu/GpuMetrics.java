package io.diffq.worker.gpu;

import io.diffq.common.metrics.MetricNames;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/**
 * Per-GPU gauges (utilisation, memory used and total, temperature, power), labelled {@code gpu},
 * {@code uuid} and {@code name}. A scheduled thread samples NVML; a scrape only reads the last sample,
 * and inference never waits for either. Without NVML there are no GPU gauges at all.
 */
@Component
public class GpuMetrics implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(GpuMetrics.class);

    private final Optional<Nvml> nvml;
    private final Map<Integer, GpuSample> latest = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sampler;

    public GpuMetrics(NvmlProperties properties, MeterRegistry meters) {
        this.nvml = properties.enabled()
                ? Nvml.load(properties.libraryPath().isBlank() ? Optional.empty()
                        : Optional.of(Path.of(properties.libraryPath())))
                : Optional.empty();
        if (nvml.isEmpty()) {
            sampler = null;
            return;
        }
        List<GpuSample> first = nvml.get().sample();
        first.forEach(s -> {
            latest.put(s.index(), s);
            register(meters, s);
        });
        sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "diffq-gpu-sampler");
            t.setDaemon(true);
            return t;
        });
        long every = properties.sampleInterval().toMillis();
        sampler.scheduleWithFixedDelay(this::sample, every, every, TimeUnit.MILLISECONDS);
    }

    /** GPUs on this machine, 0 without NVML. */
    public int gpuCount() {
        return nvml.map(Nvml::deviceCount).orElse(0);
    }

    private void sample() {
        try {
            nvml.get().sample().forEach(s -> latest.put(s.index(), s));
        } catch (RuntimeException e) {
            log.warn("sampling NVML failed: {}", e.toString());
        }
    }

    private void register(MeterRegistry meters, GpuSample s) {
        Tags tags = Tags.of(MetricNames.TAG_GPU, s.device(), "uuid", s.uuid(), "name", s.name());
        gauge(meters, MetricNames.GPU_UTILIZATION, "GPU busy time over the last sample period", "percent", tags,
                s.index(), GpuSample::utilization);
        gauge(meters, MetricNames.GPU_MEMORY_USED, "GPU memory in use", null, tags, s.index(),
                GpuSample::memoryUsedBytes);
        gauge(meters, MetricNames.GPU_MEMORY_TOTAL, "GPU memory installed", null, tags, s.index(),
                GpuSample::memoryTotalBytes);
        gauge(meters, MetricNames.GPU_TEMPERATURE, "GPU core temperature", null, tags, s.index(),
                GpuSample::temperature);
        gauge(meters, MetricNames.GPU_POWER, "GPU power draw", null, tags, s.index(), GpuSample::powerWatts);
    }

    private void gauge(MeterRegistry meters, String name, String description, String unit, Tags tags, int index,
            ToDoubleFunction<GpuSample> value) {
        Gauge.builder(name, latest, m -> {
                    GpuSample s = m.get(index);
                    return s == null ? Double.NaN : value.applyAsDouble(s);
                })
                .description(description)
                .baseUnit(unit)
                .tags(tags)
                .strongReference(true)
                .register(meters);
    }

    @Override
    public void destroy() {
        if (sampler != null) {
            sampler.shutdownNow();
        }
        nvml.ifPresent(Nvml::close);
    }
}
