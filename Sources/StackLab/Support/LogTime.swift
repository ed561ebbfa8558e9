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

    /// The newest second formatted so far and the one before it: a request received just before the second turned
    /// logs after it, with the older date. Any other date (a file's mtime) is formatted on its own, not cached.
    private struct Recent {
        var current: Formatted?
        var previous: Formatted?
    }
    private static let recent = NIOLockedValueBox(Recent())

    private static func formatted(_ seconds: Int) -> Formatted {
        let cached = recent.withLockedValue { recent -> Formatted? in
            if let current = recent.current, current.second == seconds { return current }
            if let previous = recent.previous, previous.second == seconds { return previous }
            return nil
        }
        if let cached { return cached }
        let fresh = Formatted(seconds)
        recent.withLockedValue { recent in
            if (recent.current?.second ?? .min) < seconds {
                recent.previous = recent.current
                recent.current = fresh
            } else if (recent.previous?.second ?? .min) < seconds {
                recent.previous = fresh
            }
        }
        return fresh
    }

    /// nginx `$time_local` and gunicorn `%(t)s`: `24/Nov/2026:13:55:36 +0000`.
    public static func common(_ date: Date = Date()) -> String {
        formatted(Int(date.timeIntervalSince1970)).common
    }

    /// HAProxy `%tr`: `24/Nov/2026:12:14:14.655`.
    public static func haproxy(_ date: Date = Date()) -> String {
        var text = ""
        appendHAProxy(date, to: &text)
        return text
    }

    /// The same, written at the end of `text` (a log line being built).
    static func appendHAProxy(_ date: Date, to text: inout String) {
        let seconds = date.timeIntervalSince1970
        let ms = Int((seconds - seconds.rounded(.down)) * 1000)
        text += formatted(Int(seconds)).haproxySeconds
        text += "."
        text += three(ms)
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
