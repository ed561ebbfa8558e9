import Foundation
import NIOConcurrencyHelpers

/// Timestamps in the formats of the real tools' logs, in UTC. Formatting is cached per second: every request logs.
public enum LogTime {
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private struct Parts {
        var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0
    }

    private static func parts(_ seconds: Int) -> Parts {
        var time = time_t(seconds)
        var tm = tm()
        gmtime_r(&time, &tm)
        return Parts(year: Int(tm.tm_year) + 1900, month: Int(tm.tm_mon) + 1, day: Int(tm.tm_mday),
                     hour: Int(tm.tm_hour), minute: Int(tm.tm_min), second: Int(tm.tm_sec))
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    private static func three(_ n: Int) -> String { n < 10 ? "00\(n)" : n < 100 ? "0\(n)" : "\(n)" }

    /// One second's timestamps, formatted once (as nginx's ngx_time_update and HAProxy's date cache do): every request
    /// of that second logs and dates its answer from these.
    private struct Formatted: Sendable {
        var second: Int
        var common: String
        var haproxySeconds: String
        var nginxError: String
        var gunicorn: String
        var http: String

        init(_ seconds: Int) {
            let p = LogTime.parts(seconds)
            let month = LogTime.monthNames[p.month - 1]
            let time = "\(two(p.hour)):\(two(p.minute)):\(two(p.second))"
            let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]   // 1970-01-01 was a Thursday
            second = seconds
            common = "\(two(p.day))/\(month)/\(p.year):\(time) +0000"
            haproxySeconds = "\(two(p.day))/\(month)/\(p.year):\(time)"
            nginxError = "\(p.year)/\(two(p.month))/\(two(p.day)) \(time)"
            gunicorn = "\(p.year)-\(two(p.month))-\(two(p.day)) \(time) +0000"
            http = "\(weekdays[((seconds / 86_400) % 7 + 7) % 7]), \(two(p.day)) \(month) \(p.year) \(time) GMT"
        }
    }

    /// The newest second formatted so far; an older date (a file's mtime) is formatted on its own, not cached over it.
    private static let current = NIOLockedValueBox<Formatted?>(nil)

    private static func formatted(_ seconds: Int) -> Formatted {
        if let cached = current.withLockedValue({ $0 }), cached.second == seconds { return cached }
        let fresh = Formatted(seconds)
        current.withLockedValue { cached in
            if (cached?.second ?? .min) < seconds { cached = fresh }
        }
        return fresh
    }

    /// nginx `$time_local` and gunicorn `%(t)s`: `24/Nov/2026:13:55:36 +0000`.
    public static func common(_ date: Date = Date()) -> String {
        formatted(Int(date.timeIntervalSince1970)).common
    }

    /// HAProxy `%tr`: `24/Nov/2026:12:14:14.655`.
    public static func haproxy(_ date: Date = Date()) -> String {
        let seconds = date.timeIntervalSince1970
        let ms = Int((seconds - seconds.rounded(.down)) * 1000)
        return formatted(Int(seconds)).haproxySeconds + "." + three(ms)
    }

    /// nginx error log: `2026/11/24 13:55:36`.
    public static func nginxError(_ date: Date = Date()) -> String {
        formatted(Int(date.timeIntervalSince1970)).nginxError
    }

    /// gunicorn error log: `2026-11-24 13:55:36 +0000`.
    public static func gunicorn(_ date: Date = Date()) -> String {
        formatted(Int(date.timeIntervalSince1970)).gunicorn
    }

    /// HTTP `Date` header: `Tue, 24 Nov 2026 13:55:36 GMT`.
    public static func http(_ date: Date = Date()) -> String {
        formatted(Int(date.timeIntervalSince1970)).http
    }
}
