package io.diffq.gateway.webhooks;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Which URLs a webhook may call: an absolute {@code http} or {@code https} URL with a host, without user-info or
 * fragment, whose host resolves only to public addresses. Refused (server-side request forgery: a job must not
 * make the gateway call into its own network) are loopback, any-local ({@code 0.0.0.0}, {@code ::}), link-local
 * (169.254/16, fe80::/10, where cloud metadata services answer), private (10/8, 172.16/12, 192.168/16, fc00::/7,
 * fec0::/10), CGNAT (100.64/10), multicast, broadcast and reserved ranges, also when written as an IPv4-mapped,
 * -compatible, NAT64 or 6to4 IPv6 address. A host listed in {@code diffq.gateway.webhooks.allowed-hosts} (as
 * {@code host} or {@code host:port}) is let through whatever it resolves to.
 *
 * <p>The gateway checks a URL when it accepts the job and again before every delivery attempt, since what a name
 * resolves to may change. The attempt's connection then resolves the name again, which the JVM answers from the
 * lookup just checked (its positive DNS cache, 30 s by default); a name whose answer changes between the check and
 * the connection is the remaining window, documented rather than closed (closing it would mean connecting to the
 * checked address by hand, which {@code java.net.http} does not allow for {@code https}).
 */
@Component
public class WebhookUrlPolicy {

    /** The longest URL a webhook may name. */
    public static final int MAX_LENGTH = 2048;

    private final Set<String> allowedHosts;

    @Autowired
    public WebhookUrlPolicy(WebhookProperties properties) {
        this(properties.allowedHosts());
    }

    WebhookUrlPolicy(List<String> allowedHosts) {
        this.allowedHosts = allowedHosts.stream().map(h -> h.strip().toLowerCase(Locale.ROOT))
                .collect(Collectors.toUnmodifiableSet());
    }

    /** A URL this policy refuses, and why (the message names no address: it is shown to the client). */
    public static final class RefusedUrlException extends Exception {

        private final boolean retryable;

        RefusedUrlException(String message) {
            this(message, false);
        }

        RefusedUrlException(String message, boolean retryable) {
            super(message);
            this.retryable = retryable;
        }

        /** Whether a later try may pass: the host did not resolve (DNS may be down for a moment). */
        public boolean retryable() {
            return retryable;
        }
    }

    /**
     * Checks {@code url}, resolving its host.
     *
     * @return the URL, parsed
     * @throws RefusedUrlException when the URL is malformed, names another scheme, or its host resolves to an
     *                             address not allowed
     */
    public URI check(String url) throws RefusedUrlException {
        URI uri = parse(url);
        String host = uri.getHost().toLowerCase(Locale.ROOT);
        if (allowedHosts.contains(host) || allowedHosts.contains(host + ":" + effectivePort(uri))) {
            return uri;
        }
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(bare);
        } catch (UnknownHostException e) {
            throw new RefusedUrlException("the host " + host + " does not resolve", true);
        }
        for (InetAddress a : addresses) {
            String why = refusal(a);
            if (why != null) {
                throw new RefusedUrlException("the host " + host + " resolves to a " + why
                        + " address; webhooks may only call public addresses");
            }
        }
        return uri;
    }

    private static URI parse(String url) throws RefusedUrlException {
        if (url.length() > MAX_LENGTH) {
            throw new RefusedUrlException("must be at most " + MAX_LENGTH + " characters");
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new RefusedUrlException("is not a valid URL");
        }
        String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!uri.isAbsolute() || !("http".equals(scheme) || "https".equals(scheme))) {
            throw new RefusedUrlException("must be an absolute http or https URL");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new RefusedUrlException("must name a host");
        }
        if (uri.getRawUserInfo() != null) {
            throw new RefusedUrlException("must not carry user information");
        }
        if (uri.getRawFragment() != null) {
            throw new RefusedUrlException("must not have a fragment");
        }
        return uri;
    }

    private static int effectivePort(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    /** What kind of address this is when it is not public, or {@code null} when it is. */
    static String refusal(InetAddress a) {
        if (a.isLoopbackAddress()) {
            return "loopback";
        }
        if (a.isAnyLocalAddress()) {
            return "wildcard";
        }
        if (a.isLinkLocalAddress()) {
            return "link-local";
        }
        if (a.isSiteLocalAddress()) {
            return "private";
        }
        if (a.isMulticastAddress()) {
            return "multicast";
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            return refusalV4(b);
        }
        if (a instanceof Inet6Address) {
            if ((b[0] & 0xfe) == 0xfc) {
                return "private"; // fc00::/7, unique local
            }
            byte[] v4 = embeddedV4(b);
            if (v4 != null) {
                try {
                    return refusal(InetAddress.getByAddress(v4));
                } catch (UnknownHostException e) {
                    throw new IllegalStateException("four bytes are an IPv4 address", e);
                }
            }
        }
        return null;
    }

    private static String refusalV4(byte[] b) {
        int first = b[0] & 0xff;
        int second = b[1] & 0xff;
        if (first == 0) {
            return "reserved"; // 0/8, "this network"
        }
        if (first == 100 && (second & 0xc0) == 64) {
            return "shared (CGNAT)"; // 100.64/10
        }
        if (first == 192 && second == 0 && (b[2] & 0xff) == 0) {
            return "reserved"; // 192.0.0/24, protocol assignments
        }
        if (first == 198 && (second & 0xfe) == 18) {
            return "reserved"; // 198.18/15, benchmarking
        }
        if (first >= 240) {
            return "reserved"; // 240/4 and the broadcast address
        }
        return null;
    }

    /** The IPv4 address an IPv6 one carries (mapped, compatible, NAT64 64:ff9b::/96, 6to4 2002::/16), if any. */
    private static byte[] embeddedV4(byte[] b) {
        boolean zeros80 = true;
        for (int i = 0; i < 10; i++) {
            zeros80 &= b[i] == 0;
        }
        if (zeros80 && ((b[10] == (byte) 0xff && b[11] == (byte) 0xff) || (b[10] == 0 && b[11] == 0))) {
            return new byte[] {b[12], b[13], b[14], b[15]};
        }
        boolean nat64 = b[0] == 0 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b;
        for (int i = 4; nat64 && i < 12; i++) {
            nat64 = b[i] == 0;
        }
        if (nat64) {
            return new byte[] {b[12], b[13], b[14], b[15]};
        }
        if (b[0] == 0x20 && b[1] == 0x02) {
            return new byte[] {b[2], b[3], b[4], b[5]};
        }
        return null;
    }
}
