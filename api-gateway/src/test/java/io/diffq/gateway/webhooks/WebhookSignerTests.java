package io.diffq.gateway.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Signatures as the Standard Webhooks specification computes them, checked against its own example. */
class WebhookSignerTests {

    private static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private static final byte[] BODY = "{\"test\": 2432232314}".getBytes(StandardCharsets.UTF_8);

    @Test
    void signsTheStandardWebhooksExample() {
        // The example of the Standard Webhooks specification (and of its reference libraries).
        assertThat(new WebhookSigner(List.of(SECRET)).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, BODY))
                .isEqualTo("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    @Test
    void anotherIdTimestampOrBodyGivesAnotherSignature() {
        WebhookSigner signer = new WebhookSigner(List.of(SECRET));
        String good = signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, BODY);
        assertThat(signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJel", 1614265330, BODY)).isNotEqualTo(good);
        assertThat(signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, BODY)).isNotEqualTo(good);
        assertThat(signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232315}"
                .getBytes(StandardCharsets.UTF_8))).isNotEqualTo(good);
    }

    @Test
    void duringARotationEverySecretSignsTheFirstOneFirst() {
        String next = "whsec_" + java.util.Base64.getEncoder().encodeToString(new byte[24]);
        String header = new WebhookSigner(List.of(next, SECRET)).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, BODY);
        String[] signatures = header.split(" ");
        assertThat(signatures).hasSize(2);
        assertThat(signatures[0]).isEqualTo(new WebhookSigner(List.of(next)).sign("msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330, BODY));
        assertThat(signatures[1]).isEqualTo("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    @Test
    void refusesSecretsThatAreNotWhsecBase64WithoutEchoingThem() {
        assertThatThrownBy(() -> WebhookSigner.decodeSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
                .hasMessageContaining("whsec_").hasMessageNotContaining("MfKQ9r8");
        assertThatThrownBy(() -> WebhookSigner.decodeSecret("whsec_not*base64"))
                .hasMessageContaining("base64").hasMessageNotContaining("not*base64");
        assertThatThrownBy(() -> WebhookSigner.decodeSecret("whsec_AAAA")).hasMessageContaining("16 bytes");
    }
}
