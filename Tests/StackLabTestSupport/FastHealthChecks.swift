import Foundation

/// The built-in foobar lab's haproxy.cfg for tests: health checks every 200 ms instead of 2 s, so that a crashed
/// server is DOWN within a second, and each check allowed 3 s (`timeout check`), so that a busy machine answering a
/// check late does not mark a healthy server DOWN in the middle of a test (without it, `inter` is the timeout).
/// Nil when the file no longer reads as expected.
public func fastHealthChecks(_ haproxyConfig: String) -> String? {
    let fast = haproxyConfig.replacingOccurrences(of: "inter 2s", with: "inter 200ms")
        .replacingOccurrences(of: "    timeout server 30s\n", with: "    timeout server 30s\n    timeout check 3s\n")
    guard fast.contains("timeout check 3s"), fast.contains("inter 200ms") else { return nil }
    return fast
}
