package io.diffq.gateway.status;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Where the gateway keeps job status on disk, under {@code diffq.gateway.status}.
 *
 * @param dir       the store's directory, kept across restarts so that a restarted gateway reads only what was
 *                  written while it was down; one gateway per directory (a second one fails to start). Unset: a
 *                  fresh temporary directory, deleted at shutdown, so every start reads the topics again
 * @param cacheSize the store's memory outside the heap: read cache and write buffers together
 */
@ConfigurationProperties("diffq.gateway.status")
public record StatusStoreProperties(Path dir, @DefaultValue("64MB") DataSize cacheSize) {
}
