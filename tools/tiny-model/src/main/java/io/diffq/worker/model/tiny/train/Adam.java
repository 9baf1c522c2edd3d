package io.diffq.worker.model.tiny.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Adam (β 0.9 / 0.99) over a list of parameter arrays, with gradient clipping at norm 1, batches with
 * non-finite gradients skipped, and an exponential moving average (EMA, up to 0.999) of the weights: what the
 * trainers export.
 */
final class Adam {

    static final double MAX_GRAD_NORM = 1.0;

    final List<NDArray> params;
    final List<String> names;
    final List<NDArray> m = new ArrayList<>();
    final List<NDArray> v = new ArrayList<>();
    final List<NDArray> ema = new ArrayList<>();
    /** The largest gradient norm since it was last read. */
    double maxGradNorm;

    Adam(List<NDArray> params, List<String> names) {
        this.params = params;
        this.names = names;
        for (NDArray p : params) {
            m.add(p.zerosLike());
            v.add(p.zerosLike());
            ema.add(p.duplicate());
        }
    }

    /** One update from the gradients the last backward pass left; clears them. */
    void step(int step, float lr, NDManager sm) {
        float b1 = 0.9f;
        float b2 = 0.99f;
        float c1 = (float) (1 - Math.pow(b1, step));
        float c2 = (float) (1 - Math.pow(b2, step));
        float decay = Math.min(0.999f, (1f + step) / (10f + step));
        List<NDArray> grads = new ArrayList<>();
        double squares = 0;
        String worst = null;
        for (int i = 0; i < params.size(); i++) {
            NDArray g = params.get(i).getGradient();
            g.attach(sm);
            grads.add(g);
            // In double: a float sum of squares overflows long before the gradient itself does.
            double sq = g.toType(DataType.FLOAT64, false).square().sum().getDouble();
            if (worst == null && !Double.isFinite(sq)) {
                worst = names.get(i);
            }
            squares += sq;
        }
        double norm = Math.sqrt(squares);
        maxGradNorm = Math.max(maxGradNorm, norm);
        if (!Double.isFinite(norm)) {
            // Non-finite gradients would poison every weight (and the checkpoint): skip the batch.
            System.out.printf(Locale.ROOT, "step %d: non-finite gradient (first in %s), batch skipped%n", step,
                    worst);
            grads.forEach(Adam::clear);
            return;
        }
        float clip = norm > MAX_GRAD_NORM ? (float) (MAX_GRAD_NORM / norm) : 1f;
        // Every temporary is made from an array of the step manager (results join the manager of the
        // array an operation is called on), so nothing piles up in the root manager.
        for (int i = 0; i < params.size(); i++) {
            NDArray p = params.get(i);
            NDArray g = grads.get(i);
            if (clip < 1f) {
                g.muli(clip);
            }
            m.get(i).muli(b1).addi(g.mul(1 - b1));
            v.get(i).muli(b2).addi(g.square().mul(1 - b2));
            NDArray denominator = sm.zeros(p.getShape()).addi(v.get(i)).divi(c2).sqrt().addi(1e-8f);
            NDArray update = sm.zeros(p.getShape()).addi(m.get(i)).divi(c1).divi(denominator).muli(lr);
            p.subi(update);
            clear(g);
            ema.get(i).muli(decay).addi(sm.zeros(p.getShape()).addi(p).muli(1 - decay));
        }
    }

    /** Drops the gradients of a batch that is not used. */
    void skip(NDManager sm) {
        for (NDArray p : params) {
            NDArray g = p.getGradient();
            g.attach(sm);
            clear(g);
        }
    }

    /** Replaces the first {@code count} parameters by their average (for a final export). */
    void useAverage(int count) {
        for (int i = 0; i < count; i++) {
            ema.get(i).copyTo(params.get(i));
        }
    }

    /**
     * Zeroes a gradient in place for the next batch (gradients accumulate). Not by multiplying by 0: a NaN
     * from one bad batch would survive that, and every later batch would be skipped as non-finite.
     */
    static void clear(NDArray gradient) {
        gradient.set(new NDIndex("..."), 0);
    }
}
