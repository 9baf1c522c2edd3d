package io.diffq.worker.gpu;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * GPU metrics from NVML, under {@code diffq.worker.nvml}.
 *
 * @param enabled        whether to look for NVML at all
 * @param libraryPath    a directory holding {@code libnvidia-ml.so}; empty: the system's library search path
 * @param sampleInterval how often the GPUs are read (off the inference path)
 */
@ConfigurationProperties("diffq.worker.nvml")
public record NvmlProperties(
        @DefaultValue("true") boolean enabled,
        @DefaultValue("") String libraryPath,
        @DefaultValue("5s") Duration sampleInterval) {
}
