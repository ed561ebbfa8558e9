import Foundation
import StackLab
import Testing
import StackLabTestSupport
@testable import StackLabShell

/// The shell's curl with the options people type from habit: -I, -s/-S, -L, the long names.
@Suite("curl's everyday options", .serialized, .runsALab)
struct CurlVerbTests {
    @MainActor
    @Test func headSilentAndShowErrorWorkAsInCurl() async throws {
        try await withShell { shell, out in
            let head = await out.of(shell, "curl -I /static/hello.txt")
            #expect(head.ok, "\(head.text)")
            // The headers only, with the length of the GET's body (no body follows), spelled as lb-01 (HAProxy) writes it.
            #expect(head.text.hasPrefix("HTTP/1.1 200 OK\n") && head.text.contains("content-length: 19\n") && !head.text.contains("hello"),
                    "\(head.text)")
            let long = await out.of(shell, "curl --head --include /")
            #expect(long.ok && long.text.hasPrefix("HTTP/1.1 200 OK\n"), "\(long.text)")
            // -s: nothing printed for a failure, which still fails; -sS shows it.
            let silent = await out.of(shell, "curl -s http://127.0.1.1:1/")
            #expect(!silent.ok && silent.text.isEmpty, "\(silent.text)")
            let shown = await out.of(shell, "curl -sS http://127.0.1.1:1/")
            #expect(!shown.ok && shown.text.contains("curl: (7)"), "\(shown.text)")
            let both = await out.of(shell, "curl -I -d x /")
            let unwrapped = both.text.replacingOccurrences(of: #"\n +"#, with: " ", options: .regularExpression)
            #expect(!both.ok && unwrapped.contains("can only select one HTTP request method! You asked for both POST"), "\(both.text)")
        }
    }

    @MainActor
    @Test func locationFollowsTheHardenedLabsRedirectToHTTPS() async throws {
        try await withHardenedShell { shell, output in
            let plain = await output.of(shell, "curl -i /")
            let followed = await output.of(shell, "curl -L -i /")
            #expect(plain.ok && plain.text.hasPrefix("HTTP/1.1 302 Found\n") && plain.text.lowercased().contains("location: https://"),
                    "\(plain.text)")
            // Both answers' headers, then the page from the HTTPS port.
            #expect(followed.ok && followed.text.hasPrefix("HTTP/1.1 302 Found\n") && followed.text.contains("HTTP/1.1 200 OK\n")
                    && followed.text.contains("</html>"), "\(followed.text)")
        }
    }
}
