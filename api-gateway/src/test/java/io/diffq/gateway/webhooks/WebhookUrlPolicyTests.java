package io.diffq.gateway.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Literal addresses only: nothing here asks a DNS server. */
class WebhookUrlPolicyTests {

    private final WebhookUrlPolicy policy = new WebhookUrlPolicy(List.of());

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            http://127.0.0.1/hook               | loopback
            http://127.8.9.10:8080/hook         | loopback
            http://[::1]/hook                   | loopback
            http://0.0.0.0/hook                 | wildcard
            http://[::]/hook                    | wildcard
            http://169.254.169.254/latest       | link-local
            http://[fe80::1]/hook               | link-local
            http://10.1.2.3/hook                | private
            http://172.16.0.1/hook              | private
            http://172.31.255.255/hook          | private
            http://192.168.1.1/hook             | private
            http://[fc00::1]/hook               | private
            http://[fd12:3456::1]/hook          | private
            http://[fec0::1]/hook               | private
            http://100.64.0.1/hook              | CGNAT
            http://100.127.255.255/hook         | CGNAT
            http://224.0.0.1/hook               | multicast
            http://[ff02::1]/hook               | multicast
            http://255.255.255.255/hook         | reserved
            http://0.1.2.3/hook                 | reserved
            http://[::ffff:127.0.0.1]/hook      | loopback
            http://[::ffff:a9fe:a9fe]/hook      | link-local
            http://[::ffff:10.0.0.1]/hook       | private
            http://[64:ff9b::a00:1]/hook        | private
            http://[2002:c0a8:101::1]/hook      | private
            http://[::127.0.0.1]/hook           | loopback
            """)
    void refusesInternalAddresses(String url, String kind) {
        assertThatThrownBy(() -> policy.check(url)).as(url)
                .isInstanceOf(WebhookUrlPolicy.RefusedUrlException.class)
                .hasMessageContaining(kind)
                .satisfies(e -> assertThat(((WebhookUrlPolicy.RefusedUrlException) e).retryable()).isFalse());
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://93.184.215.14/hook", "https://8.8.8.8:8443/a?b=c", "http://172.32.0.1/",
            "http://100.128.0.1/", "http://[2606:4700::1111]/hook", "HTTPS://1.1.1.1/x"})
    void letsPublicAddressesThrough(String url) throws Exception {
        assertThat(policy.check(url).toString()).isEqualTo(url);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            ftp://8.8.8.8/hook                  | absolute http or https
            file:///etc/passwd                  | absolute http or https
            /relative/hook                      | absolute http or https
            http:///no-host                     | must name a host
            http://user:pass@8.8.8.8/hook       | user information
            http://8.8.8.8/hook#frag            | fragment
            http://8.8.8.8/a b                  | not a valid URL
            """)
    void refusesWhatIsNotAPlainHttpUrl(String url, String message) {
        assertThatThrownBy(() -> policy.check(url)).as(url).hasMessageContaining(message);
    }

    @Test
    void refusesOverlongUrls() {
        assertThatThrownBy(() -> policy.check("https://8.8.8.8/" + "a".repeat(WebhookUrlPolicy.MAX_LENGTH)))
                .hasMessageContaining("at most 2048");
    }

    @Test
    void allowedHostsLetInternalHostsThroughByHostOrByHostAndPort() throws Exception {
        WebhookUrlPolicy allowing = new WebhookUrlPolicy(List.of("127.0.0.1:9000", "10.0.0.7", "[::1]:8080"));
        assertThat(allowing.check("http://127.0.0.1:9000/hook")).isNotNull();
        assertThat(allowing.check("http://10.0.0.7/hook")).isNotNull();
        assertThat(allowing.check("https://10.0.0.7:8443/hook")).isNotNull();
        assertThat(allowing.check("http://[::1]:8080/hook")).isNotNull();
        // Another port of an entry with a port is not listed.
        assertThatThrownBy(() -> allowing.check("http://127.0.0.1:9001/hook")).hasMessageContaining("loopback");
        assertThatThrownBy(() -> allowing.check("http://[::1]:8081/hook")).hasMessageContaining("loopback");
        // The default port counts as the port.
        assertThat(new WebhookUrlPolicy(List.of("127.0.0.1:80")).check("http://127.0.0.1/hook")).isNotNull();
    }

    @Test
    void anIpv4MappedAddressBuiltAsIpv6IsStillSeenThrough() throws Exception {
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        mapped[12] = (byte) 192;
        mapped[13] = (byte) 168;
        mapped[15] = 1;
        InetAddress v6 = java.net.Inet6Address.getByAddress(null, mapped, -1);
        assertThat(WebhookUrlPolicy.refusal(v6)).isEqualTo("private");
        assertThat(WebhookUrlPolicy.refusal(InetAddress.getByName("8.8.4.4"))).isNull();
    }
}
