#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The open-file limit (RLIMIT_NOFILE) every process of the lab shares, since they all live in one real process.
///
/// stacklab raises the soft limit to the hard one at start, as HAProxy and nginx's `worker_rlimit_nofile` do, and
/// gives each server of the lab an equal share as its own `ulimit -n`: what HAProxy derives its default maxconn from,
/// and what nginx and HAProxy compare their limits with when they warn at start-up.
public enum OpenFileLimit {
    /// The soft and hard limits now.
    public static var current: (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(resourceNumber, &limit) == 0 else { return (1024, 1024) }
        return (clamp(limit.rlim_cur), clamp(limit.rlim_max))
    }

    /// Raises the soft limit as far as the hard limit allows; returns the limits after.
    @discardableResult
    public static func raiseToHardLimit() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(resourceNumber, &limit) == 0 else { return current }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resourceNumber, &raised) != 0 {
                // macOS refuses an unlimited soft limit: OPEN_MAX is what it takes.
                raised.rlim_cur = min(limit.rlim_max, rlim_t(10_240))
                _ = setrlimit(resourceNumber, &raised)
            }
        }
        return current
    }

    /// One server's share of the soft limit: its `ulimit -n` in the lab.
    public static func share(servers: Int) -> Int {
        max(64, current.soft / max(1, servers))
    }

    private static func clamp(_ value: rlim_t) -> Int {
        value >= rlim_t(Int32.max) ? Int(Int32.max) : Int(value)
    }

    #if canImport(Glibc)
    private static let resourceNumber = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceNumber = RLIMIT_NOFILE
    #endif
}
