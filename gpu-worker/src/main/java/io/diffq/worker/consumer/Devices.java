package io.diffq.worker.consumer;

import io.diffq.worker.pipeline.Device;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Turns {@code diffq.worker.devices} into the devices to run consumers on. */
final class Devices {

    private static final Logger log = LoggerFactory.getLogger(Devices.class);

    private Devices() {
    }

    /**
     * {@code cpu}: the CPU. {@code all}: every GPU found, or the CPU when there is none. Otherwise GPU indices.
     *
     * @param gpuCount the number of GPUs this machine has
     */
    static List<Device> resolve(List<String> configured, int gpuCount) {
        if (configured.isEmpty() || configured.size() == 1 && configured.get(0).equalsIgnoreCase("cpu")) {
            return List.of(Device.CPU);
        }
        if (configured.size() == 1 && configured.get(0).equalsIgnoreCase("all")) {
            if (gpuCount == 0) {
                log.info("no GPU found: running one consumer on the CPU");
                return List.of(Device.CPU);
            }
            List<Device> all = new ArrayList<>();
            for (int i = 0; i < gpuCount; i++) {
                all.add(Device.gpu(i));
            }
            return all;
        }
        List<Device> devices = new ArrayList<>();
        for (String s : configured) {
            int index;
            try {
                index = Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("diffq.worker.devices: '" + s
                        + "' is neither cpu, all nor a GPU index");
            }
            if (index < 0 || index >= gpuCount) {
                throw new IllegalArgumentException("diffq.worker.devices: GPU " + index + " does not exist ("
                        + gpuCount + " found)");
            }
            devices.add(Device.gpu(index));
        }
        return devices;
    }
}
