import Foundation
import NIOConcurrencyHelpers

/// Timestamps in the formats of the real tools' logs, in UTC. Formatting is cached per second: every request logs.
public enum LogTime {
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private struct Parts {
        var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0
    }

    private struct Cache {
        var second = -1
        var parts = Parts()
    }

    private static let cache = NIOLockedValueBox(Cache())

    private static func parts(_ seconds: Int) -> Parts {
        cache.withLockedValue { cache in
            if cache.second == seconds { return cache.parts }
            var time = time_t(seconds)
            var tm = tm()
            gmtime_r(&time, &tm)
            let parts = Parts(year: Int(tm.tm_year) + 1900, month: Int(tm.tm_mon) + 1, day: Int(tm.tm_mday),
                              hour: Int(tm.tm_hour), minute: Int(tm.tm_min), second: Int(tm.tm_sec))
            cache.second = seconds
            cache.parts = parts
            return parts
        }
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    private static func three(_ n: Int) -> String { n < 10 ? "00\(n)" : n < 100 ? "0\(n)" : "\(n)" }

    /// nginx `$time_local` and gunicorn `%(t)s`: `24/Nov/2026:13:55:36 +0000`.
    public static func common(_ date: Date = Date()) -> String {
        let p = parts(Int(date.timeIntervalSince1970))
        return "\(two(p.day))/\(monthNames[p.month - 1])/\(p.year):\(two(p.hour)):\(two(p.minute)):\(two(p.second)) +0000"
    }

    /// HAProxy `%tr`: `24/Nov/2026:12:14:14.655`.
    public static func haproxy(_ date: Date = Date()) -> String {
        let seconds = date.timeIntervalSince1970
        let p = parts(Int(seconds))
        let ms = Int((seconds - seconds.rounded(.down)) * 1000)
        return "\(two(p.day))/\(monthNames[p.month - 1])/\(p.year):\(two(p.hour)):\(two(p.minute)):\(two(p.second)).\(three(ms))"
    }

    /// nginx error log: `2026/11/24 13:55:36`.
    public static func nginxError(_ date: Date = Date()) -> String {
        let p = parts(Int(date.timeIntervalSince1970))
        return "\(p.year)/\(two(p.month))/\(two(p.day)) \(two(p.hour)):\(two(p.minute)):\(two(p.second))"
    }

    /// gunicorn error log: `2026-11-24 13:55:36 +0000`.
    public static func gunicorn(_ date: Date = Date()) -> String {
        let p = parts(Int(date.timeIntervalSince1970))
        return "\(p.year)-\(two(p.month))-\(two(p.day)) \(two(p.hour)):\(two(p.minute)):\(two(p.second)) +0000"
    }

    /// HTTP `Date` header: `Tue, 24 Nov 2026 13:55:36 GMT`.
    public static func http(_ date: Date = Date()) -> String {
        let seconds = Int(date.timeIntervalSince1970)
        let p = parts(seconds)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]   // 1970-01-01 was a Thursday
        let weekday = weekdays[((seconds / 86_400) % 7 + 7) % 7]
        return "\(weekday), \(two(p.day)) \(monthNames[p.month - 1]) \(p.year) \(two(p.hour)):\(two(p.minute)):\(two(p.second)) GMT"
    }
}
