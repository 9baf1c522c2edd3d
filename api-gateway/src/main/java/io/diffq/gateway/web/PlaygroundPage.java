package io.diffq.gateway.web;

import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.GetMapping;

/**
 * The playground page ({@code static/index.html}) at {@code /}, whatever the client accepts. Mapped here rather
 * than left to Boot's welcome page, which answers a request for {@code /} that does not accept {@code text/html}
 * with a bare {@code 406} (no problem body), and answers other methods than {@code GET} the same way; mapped, a
 * {@code POST /} is a {@code 405} problem like every other error of the port.
 */
@Controller
class PlaygroundPage {

    @GetMapping("/")
    String page() {
        return "forward:/index.html";
    }
}
