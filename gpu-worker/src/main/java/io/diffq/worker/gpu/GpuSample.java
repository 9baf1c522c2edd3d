package io.diffq.worker.gpu;

/**
 * One reading of one GPU; a value NVML could not give is {@code NaN}.
 *
 * @param index            the NVML device index
 * @param uuid             the GPU's UUID
 * @param name             the product name
 * @param utilization      percent of time a kernel ran over the last sample period
 * @param memoryUsedBytes  device memory in use
 * @param memoryTotalBytes device memory installed
 * @param temperature      core temperature in degrees Celsius
 * @param powerWatts       power draw in watts
 */
public record GpuSample(int index, String uuid, String name, double utilization, double memoryUsedBytes,
        double memoryTotalBytes, double temperature, double powerWatts) {

    /** The device name used in metrics and job events: {@code gpu<index>}. */
    public String device() {
        return "gpu" + index;
    }
}
