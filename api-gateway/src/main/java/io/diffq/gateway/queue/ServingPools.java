package io.diffq.gateway.queue;

import io.diffq.common.model.Pool;
import java.util.List;

/** The pools of workers that jobs are routed to with lanes; the {@code lanes} package's catalogue is one. */
public interface ServingPools {

    /** Every pool known, declared by workers or configured on the gateways. */
    List<Pool> pools();
}
