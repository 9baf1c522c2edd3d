package io.diffq.chaos;

import java.util.SplittableRandom;

/**
 * The campaign's one source of randomness: an independent stream per purpose, drawn from the seed alone. The seed
 * is mixed first, so seeds 1, 2, 3 give unrelated streams (SplittableRandom's own seeding makes seed n+1's stream
 * seed n's shifted by one draw).
 */
final class Seeds {

    private Seeds() {
    }

    static SplittableRandom stream(long seed, String purpose) {
        return new SplittableRandom(mix(mix(seed) ^ purpose.hashCode()));
    }

    /** Stafford's variant 13 of MurmurHash3's finalizer. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
