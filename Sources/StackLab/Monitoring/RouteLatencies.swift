import Atomics
import NIOCore
import NIOHTTP1

/// The app's requests by route and their latencies, as prometheus_flask_exporter reports them
/// (`flask_http_request_duration_seconds{method,path}` and `flask_http_request_total{method,status}`).
///
/// Recording a request is three relaxed atomic increments: the request path of the lab must stay lock-free
/// (swift-prometheus's `Histogram.record` takes a lock per observation, so the histogram is kept here as atomic
/// bucket counts and written out at scrape time in the same exposition format).
public final class RouteLatencies: Sendable {
    /// The foobar app's routes; anything else is counted as `other`.
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/"), ("GET", "/health"), ("OPTIONS", "/"), ("GET", "/login"), ("POST", "/login"),
        ("GET", "/api/posts"), ("POST", "/api/posts"), ("other", "other"),
    ]
    /// prometheus_client's default buckets, in seconds.
    public static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
    static let methods = ["GET", "HEAD", "POST", "OPTIONS", "other"]
    static let statuses = [200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 405, 500, 502, 503, 504]

    /// Per route: one count per bucket (not cumulative) plus one for +Inf.
    private let bucketCounts: [ManagedAtomic<Int>]
    private let sumMicroseconds: [ManagedAtomic<Int>]
    /// Per method and status (the last status column is "other").
    private let statusCounts: [ManagedAtomic<Int>]

    public init() {
        bucketCounts = (0..<(Self.routes.count * (Self.buckets.count + 1))).map { _ in ManagedAtomic(0) }
        sumMicroseconds = Self.routes.map { _ in ManagedAtomic(0) }
        statusCounts = (0..<(Self.methods.count * (Self.statuses.count + 1))).map { _ in ManagedAtomic(0) }
    }

    /// Counts one answered request. No allocation, no lock.
    public func record(method: HTTPMethod, uri: String, status: Int, seconds: Double) {
        let route = Self.routeIndex(method: method, uri: uri)
        var bucket = Self.buckets.count
        for (index, bound) in Self.buckets.enumerated() where seconds <= bound {
            bucket = index
            break
        }
        bucketCounts[route * (Self.buckets.count + 1) + bucket].wrappingIncrement(ordering: .relaxed)
        sumMicroseconds[route].wrappingIncrement(by: Int(max(0, seconds) * 1_000_000), ordering: .relaxed)
        let methodIndex: Int = switch method {
        case .GET: 0
        case .HEAD: 1
        case .POST: 2
        case .OPTIONS: 3
        default: 4
        }
        let statusIndex = Self.statuses.firstIndex(of: status) ?? Self.statuses.count
        statusCounts[methodIndex * (Self.statuses.count + 1) + statusIndex].wrappingIncrement(ordering: .relaxed)
    }

    static func routeIndex(method: HTTPMethod, uri: String) -> Int {
        let path = uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { uri[..<$0] } ?? Substring(uri)
        let name: String = switch method {
        case .GET, .HEAD: "GET"
        case .POST: "POST"
        case .OPTIONS: "OPTIONS"
        default: "other"
        }
        for (index, route) in routes.enumerated() where route.method == name && path == route.path { return index }
        return routes.count - 1
    }

    /// Requests per (method, status), for `flask_http_request_total`.
    func statusTotals() -> [(method: String, status: String, count: Int)] {
        var result: [(String, String, Int)] = []
        for (m, method) in Self.methods.enumerated() {
            for s in 0...Self.statuses.count {
                let count = statusCounts[m * (Self.statuses.count + 1) + s].load(ordering: .relaxed)
                if count > 0 { result.append((method, s < Self.statuses.count ? String(Self.statuses[s]) : "other", count)) }
            }
        }
        return result
    }

    /// Total requests counted so far.
    public var total: Int { statusCounts.reduce(0) { $0 + $1.load(ordering: .relaxed) } }

    /// `flask_http_request_duration_seconds` in the text exposition format (cumulative buckets, `+Inf` equal to
    /// `_count`, then `_sum` and `_count`); nothing when no request was counted yet.
    func appendExposition(to text: inout String) {
        let name = "flask_http_request_duration_seconds"
        var lines: [String] = []
        for (r, route) in Self.routes.enumerated() {
            let counts = (0...Self.buckets.count).map { bucketCounts[r * (Self.buckets.count + 1) + $0].load(ordering: .relaxed) }
            let count = counts.reduce(0, +)
            guard count > 0 else { continue }
            let labels = "method=\"\(route.method)\",path=\"\(route.path)\""
            var cumulative = 0
            for (index, bound) in Self.buckets.enumerated() {
                cumulative += counts[index]
                lines.append("\(name)_bucket{\(labels),le=\"\(bound)\"} \(cumulative)")
            }
            lines.append("\(name)_bucket{\(labels),le=\"+Inf\"} \(count)")
            lines.append("\(name)_sum{\(labels)} \(Double(sumMicroseconds[r].load(ordering: .relaxed)) / 1_000_000)")
            lines.append("\(name)_count{\(labels)} \(count)")
        }
        guard !lines.isEmpty else { return }
        text += "# HELP \(name) Flask HTTP request duration in seconds\n# TYPE \(name) histogram\n"
        text += lines.joined(separator: "\n") + "\n"
    }
}
