package io.diffq.worker.model.tiny;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Leaves NaN-filled buffers on the native heap, freed, so that the next allocations of about their sizes reuse
 * them: memory an operation reads without having written then holds NaN, which no result survives. (On a
 * fresh heap such memory is mostly zeros and the same defect hides; it showed only on long-running
 * machines.)
 */
public final class FreedNaNs {

    private FreedNaNs() {
    }

    /**
     * Allocates NaN-filled buffers from 16 KB to 2 MB, eight of each size, all at once (about 32 MB, so that
     * they lie side by side rather than in one reused place), and frees them.
     */
    public static void leaveOnTheHeap(NDManager manager) {
        try (NDManager scratch = manager.newSubManager()) {
            for (int copy = 0; copy < 8; copy++) {
                for (int log2 = 12; log2 <= 19; log2++) {
                    scratch.full(new Shape(1L << log2), Float.NaN);
                }
            }
        }
    }
}
