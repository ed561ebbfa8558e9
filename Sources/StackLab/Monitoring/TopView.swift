import Foundation

/// `top`: one frame of the live view, rendered to text. Pure: the same snapshot and size give the same frame, so a
/// frame is tested like any string. Made for a projector: at 100×30 the servers stand side by side in columns; on a
/// narrower terminal they stack; on a shorter one the event log, then the alert list, shrink first. No line is longer
/// than `width` (colour codes do not count), and there are never more than `height` lines.
///
/// ```swift
/// let sampler = TopSampler(lab: lab, monitor: monitor)
/// print(TopView.render(snapshot: sampler.snapshot(), width: 100, height: 30, color: true))
/// ```
public enum TopView {
    public static func render(snapshot: TopSnapshot, width: Int, height: Int, color: Bool) -> String {
        let width = max(20, width), height = max(5, height)
        var top: [Line] = []
        let clock = Self.clock(snapshot.time)
        let title = "stacklab top · \(snapshot.labName) · \(clock)"
        let hint = "q or Ctrl-C to quit"
        top.append(Line([Seg(title, .bold)] + (title.count + hint.count + 2 <= width
            ? [Seg(String(repeating: " ", count: width - title.count - hint.count)), Seg(hint, .dim)] : [])))
        top.append(Line([Seg(String(repeating: "─", count: width), .dim)]))

        // The balancers, then the servers behind them.
        let balancers = snapshot.servers.filter(\.isBalancer)
        let backends = snapshot.servers.filter { !$0.isBalancer }
        for server in balancers {
            var line = serverTitle(server)
            for process in server.processes {
                line.segs += [Seg("  "), Seg(process.kind + " "), stateSeg(process.state, healthy: process.healthy)]
            }
            line.segs += rateSegs(server.requestsPerSecond, server.errorsPerSecond)
            top.append(line)
        }
        var body: [Line] = []
        let columns = backends.isEmpty ? 1 : min(backends.count, max(1, width / 34))
        let columnWidth = width / columns
        if !balancers.isEmpty, !backends.isEmpty {
            body.append(Line([Seg(connector(columns: columns, columnWidth: columnWidth, count: min(columns, backends.count)), .dim)]))
        }
        for start in stride(from: 0, to: backends.count, by: columns) {
            let row = Array(backends[start..<min(backends.count, start + columns)])
            let blocks = row.map { serverBlock($0, width: columnWidth - 2) }
            let tallest = blocks.map(\.count).max() ?? 0
            for index in 0..<tallest {
                var line = Line([])
                for (b, block) in blocks.enumerated() {
                    let cell = index < block.count ? block[index] : Line([])
                    line.segs += cell.padded(to: b == blocks.count - 1 ? cell.length : columnWidth).segs
                }
                body.append(line)
            }
        }

        // Too little room for the server blocks (a small terminal): one line per server instead.
        let alertLines = (snapshot.alerts?.count ?? 0) + 1
        if top.count + body.count + 1 + alertLines + snapshot.replication.count > height {
            body = backends.map(compactServer)
        }

        var replication: [Line] = []
        for item in snapshot.replication {
            let lag = item.lagSeconds.map { "\($0)s" } ?? "NULL"
            let healthy = item.ioRunning == "Yes" && item.sqlRunning && item.lagSeconds != nil
            replication.append(Line([Seg("replication  ", .bold), Seg("\(item.source) → \(item.replica)  "),
                                     Seg("lag \(lag)", healthy ? ((item.lagSeconds ?? 0) > 5 ? .yellow : .green) : .red),
                                     Seg("  IO \(item.ioRunning)  SQL \(item.sqlRunning ? "Yes" : "No")", healthy ? .none : .red)]))
        }

        var alerts: [Line] = []
        if let list = snapshot.alerts {
            let firing = list.filter { $0.state == .firing }.count
            alerts.append(Line([Seg("alerts       ", .bold), Seg(list.isEmpty ? "none" : "\(firing) firing, \(list.count - firing) pending",
                                                                   list.isEmpty ? .green : (firing > 0 ? .red : .yellow))]))
            for alert in list {
                let since = max(0, Int(snapshot.time.timeIntervalSince(alert.state == .firing ? (alert.firedAt ?? alert.activeAt) : alert.activeAt)))
                let what = alert.annotations["summary"] ?? alert.labels["instance"] ?? ""
                alerts.append(Line([Seg("  "), Seg(alert.state == .firing ? "FIRING " : "PENDING", alert.state == .firing ? .red : .yellow),
                                    Seg(" \(alert.name)  \(what)  "), Seg("\(since)s", .dim)]))
            }
        } else {
            alerts.append(Line([Seg("alerts       ", .bold), Seg("no monitor — nobody is watching this site ('monitor on' adds one)", .yellow)]))
        }

        var events: [Line] = [Line([Seg("events", .bold)])]
        for event in snapshot.events {
            events.append(Line([Seg("  " + Self.clock(event.time) + "  ", .dim), Seg(event.text, event.bad ? .red : .green)]))
        }
        if snapshot.events.isEmpty { events.append(Line([Seg("  nothing has changed yet", .dim)])) }

        // Fit the height: events shrink first (newest kept), then the alert list, then everything is cut.
        let blank = Line([])
        let fixed = top.count + body.count + 1 + replication.count + (replication.isEmpty ? 0 : 1)
        var room = height - fixed
        if alerts.count + 1 + events.count > room {
            let eventRoom = max(0, room - alerts.count - 1)
            if eventRoom >= 2 {
                events = [events[0]] + events.suffix(eventRoom - 1)
            } else {
                events = []
                if alerts.count > room, room >= 2 {
                    let hidden = alerts.count - room + 1
                    alerts = Array(alerts.prefix(room - 1)) + [Line([Seg("  … \(hidden) more", .dim)])]
                }
            }
        }
        var lines = top + body + [blank]
        if !replication.isEmpty { lines += replication + [blank] }
        lines += alerts
        if !events.isEmpty { lines += [blank] + events }
        return lines.prefix(height).map { $0.render(width: width, color: color) }.joined(separator: "\n") + "\n"
    }

    // MARK: - Pieces

    static func serverTitle(_ server: TopSnapshot.Server) -> Line {
        Line([Seg(server.name, .bold), Seg(" \(server.address)", .dim)] + (server.isDown ? [Seg("  DOWN", .redBold)] : []))
    }

    /// `web-02 DOWN  lb: DOWN  ○nginx ○gunicorn`
    static func compactServer(_ server: TopSnapshot.Server) -> Line {
        var line = Line([Seg(server.name, .bold)] + (server.isDown ? [Seg(" DOWN", .redBold)] : []))
        if let status = server.balancerStatus {
            line.segs += [Seg("  lb: "), Seg(status, status == "UP" ? .green : status.hasPrefix("DOWN") ? .red : .yellow)]
        }
        for process in server.processes {
            line.segs += [Seg(" "), Seg(process.healthy ? "●" : "○", process.healthy ? .green : .red), Seg(process.kind)]
        }
        return line
    }

    static func serverBlock(_ server: TopSnapshot.Server, width: Int) -> [Line] {
        var lines = [serverTitle(server)]
        if let status = server.balancerStatus {
            let tone: Tone = status == "UP" ? .green : status.hasPrefix("DOWN") ? .red : .yellow
            var line = Line([Seg("lb: "), Seg(status, tone)])
            if let share = server.share { line.segs.append(Seg("  \(Int((share * 100).rounded()))% of traffic")) }
            lines.append(line)
        }
        var rates = Line(rateSegs(server.requestsPerSecond, server.errorsPerSecond))
        if !rates.segs.isEmpty {
            rates.segs[0].text = String(rates.segs[0].text.drop { $0 == " " })
            lines.append(rates)
        }
        let nameWidth = (server.processes.map(\.kind.count).max() ?? 0) + 1
        for process in server.processes {
            var line = Line([Seg(process.healthy ? "● " : "○ ", process.healthy ? .green : .red),
                             Seg(process.kind.padding(toLength: nameWidth, withPad: " ", startingAt: 0)),
                             stateSeg(process.state, healthy: process.healthy)])
            if let note = process.note, process.healthy {
                line.segs.append(Seg("  " + note, note.contains("NULL") ? .red : .none))
            } else if process.healthy, let rps = process.requestsPerSecond {
                line.segs.append(Seg("  " + Self.rate(rps) + "/s", .dim))
            }
            lines.append(line)
        }
        return lines
    }

    static func rateSegs(_ requests: Double?, _ errors: Double?) -> [Seg] {
        guard let requests else { return [] }
        return [Seg("  \(rate(requests)) req/s"), Seg("  \(rate(errors ?? 0)) err/s", (errors ?? 0) > 0 ? .red : .dim)]
    }

    static func stateSeg(_ state: String, healthy: Bool) -> Seg {
        Seg(state, state == "running" ? .green : healthy || state == "hung" ? .yellow : .red)
    }

    static func rate(_ value: Double) -> String { String(format: value >= 100 ? "%.0f" : "%.1f", value) }

    /// `13:55:36` in local time.
    public static func clock(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.current
        let parts = calendar.dateComponents([.hour, .minute, .second], from: date)
        return String(format: "%02d:%02d:%02d", parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }

    /// `      ┌────────┴────────┐` from the balancer down to each column.
    static func connector(columns: Int, columnWidth: Int, count: Int) -> String {
        guard count > 1 else { return "  │" }
        let first = 2, last = (count - 1) * columnWidth + 2
        let middle = (first + last) / 2
        var chars = Array(repeating: Character(" "), count: last + 1)
        for index in first...last { chars[index] = "─" }
        chars[first] = "┌"
        chars[last] = "┐"
        for column in 1..<(count - 1) { chars[column * columnWidth + 2] = "┬" }
        chars[middle] = chars[middle] == "┬" ? "┼" : "┴"
        return String(chars)
    }

    // MARK: - Text with colour that can be cut to a width

    enum Tone { case none, bold, dim, green, yellow, red, redBold }

    struct Seg {
        var text: String
        var tone: Tone
        init(_ text: String, _ tone: Tone = .none) {
            self.text = text
            self.tone = tone
        }
    }

    struct Line {
        var segs: [Seg]
        init(_ segs: [Seg]) { self.segs = segs }

        var length: Int { segs.reduce(0) { $0 + $1.text.count } }

        func padded(to width: Int) -> Line {
            var copy = self
            if length < width { copy.segs.append(Seg(String(repeating: " ", count: width - length))) }
            return copy.cut(to: width)
        }

        func cut(to width: Int) -> Line {
            var left = width
            var result: [Seg] = []
            for seg in segs where left > 0 {
                let text = String(seg.text.prefix(left))
                left -= text.count
                result.append(Seg(text, seg.tone))
            }
            return Line(result)
        }

        func render(width: Int, color: Bool) -> String {
            var text = cut(to: width).segs.map { seg -> String in
                guard color else { return seg.text }
                let code: String? = switch seg.tone {
                case .none: nil
                case .bold: "1"
                case .dim: "2"
                case .green: "32"
                case .yellow: "33"
                case .red: "31"
                case .redBold: "1;31"
                }
                return code.map { "\u{1B}[\($0)m\(seg.text)\u{1B}[0m" } ?? seg.text
            }.joined()
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
    }
}
