package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The gateway's histogram as the status bench reads it: one route's 200s, a run's share, its quantiles. */
class BenchServerHistogramTests {

    private static String text(long under2ms, long under10ms, long all) {
        return """
                # TYPE http_server_requests_seconds histogram
                http_server_requests_seconds_bucket{application="diffq-gateway",method="GET",outcome="SUCCESS",status="200",uri="/v1/jobs/{id}",le="0.002"} %d
                http_server_requests_seconds_bucket{application="diffq-gateway",method="GET",outcome="SUCCESS",status="200",uri="/v1/jobs/{id}",le="0.01"} %d
                http_server_requests_seconds_bucket{application="diffq-gateway",method="GET",outcome="SUCCESS",status="200",uri="/v1/jobs/{id}",le="+Inf"} %d
                http_server_requests_seconds_bucket{application="diffq-gateway",method="GET",outcome="CLIENT_ERROR",status="404",uri="/v1/jobs/{id}",le="+Inf"} 500
                http_server_requests_seconds_bucket{application="diffq-gateway",method="GET",outcome="SUCCESS",status="200",uri="/v1/queue",le="+Inf"} 700
                """.formatted(under2ms, under10ms, all);
    }

    @Test
    void aRunsShareOfOneRoutesAnswersGivesItsQuantiles() {
        BenchServerHistogram before = BenchServerHistogram.read(text(10, 10, 10), "/v1/jobs/{id}");
        // 100 more answers: 90 within 2 ms, 8 within 10 ms, 2 slower.
        BenchServerHistogram after = BenchServerHistogram.read(text(100, 108, 110), "/v1/jobs/{id}");

        BenchServerHistogram run = after.since(before);
        assertThat(run.count()).isEqualTo(100);
        assertThat(run.quantileMs(0.5)).isCloseTo(2.0, within(1e-9));
        assertThat(run.quantileMs(0.95)).isCloseTo(10.0, within(1e-9));
        assertThat(run.quantileMs(0.99)).isInfinite();
        assertThat(BenchServerHistogram.read(text(0, 0, 0), "/v1/jobs/{id}").quantileMs(0.5)).isNaN();
        assertThat(BenchServerHistogram.read(text(5, 5, 5), "/v1/other").count()).isZero();
    }
}
