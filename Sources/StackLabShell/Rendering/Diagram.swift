import Foundation
import StackLab

/// `diagram`: the lab's servers as boxes — balancers on top, the servers they balance below — with each process's
/// state, the balancer's view of each server on the links, and where the last requests went.
public struct Diagram: Sendable {
    public struct Line: Sendable {
        public var label: String
        public var value: String
        /// nil: no colour; true: green; false: red.
        public var healthy: Bool?
        public init(_ label: String, _ value: String, healthy: Bool?) {
            self.label = label
            self.value = value
            self.healthy = healthy
        }
    }

    public struct Box: Sendable {
        public var name: String
        public var address: String
        public var lines: [Line]
        public init(name: String, address: String, lines: [Line]) {
            self.name = name
            self.address = address
            self.lines = lines
        }
    }

    /// A link from the (first) balancer to a server below: HAProxy's status word and sessions so far.
    public struct Link: Sendable {
        public var status: String
        public var up: Bool
        public var sessions: Int
        public init(status: String, up: Bool, sessions: Int) {
            self.status = status
            self.up = up
            self.sessions = sessions
        }
    }

    public var top: [Box]
    public var bottom: [Box]
    /// Indexed like `bottom`; nil when the balancer does not send to that server.
    public var links: [Link?]
    public var recent: [String]
    public var notes: [String]

    public init(top: [Box], bottom: [Box], links: [Link?], recent: [String] = [], notes: [String] = []) {
        self.top = top
        self.bottom = bottom
        self.links = links
        self.recent = recent
        self.notes = notes
    }

    /// Reads the live lab.
    public init(lab: Lab) {
        func box(_ server: Topology.Server) -> Box {
            let lines = lab.processes(on: server.name).map { process -> Line in
                var value = process.state.description
                if process.kind == .mysql, process.state.isListening, let config = lab.definition.mysql[server.name] {
                    value += config.readOnly ? " REPLICA" : (config.logBin != nil ? " PRIMARY" : "")
                }
                let healthy: Bool = process.state == .running
                return Line(process.kind.rawValue, value, healthy: healthy)
            }
            return Box(name: server.name, address: server.address, lines: lines)
        }
        let balancerServers = Set(lab.balancers.map(\.serverName))
        let top = lab.topology.servers.filter { balancerServers.contains($0.name) }
        let bottom = lab.topology.servers.filter { !balancerServers.contains($0.name) }
        let statuses = lab.balancers.first?.serverStatuses ?? []
        let links: [Link?] = bottom.map { server in
            guard let status = statuses.first(where: { $0.address.hasPrefix(server.address + ":") }) else { return nil }
            return Link(status: status.status, up: status.isUp, sessions: status.totalSessions)
        }
        var notes: [String] = []
        for (a, b) in lab.network.activePartitions { notes.append("✂ \(a) and \(b) are cut off from each other (partition)") }
        let recent = lab.balancers.first.map { RecentRoutes.servers(inLog: $0.log.tail(200)) } ?? []
        self.init(top: top.map(box), bottom: bottom.map(box), links: links, recent: recent, notes: notes)
    }

    // MARK: - Drawing

    private struct Cell {
        var character: Character = " "
        var color: String?
    }

    private struct Canvas {
        var rows: [[Cell]] = []
        let width: Int

        init(width: Int) { self.width = width }

        mutating func newRow() -> Int {
            rows.append(Array(repeating: Cell(), count: width))
            return rows.count - 1
        }

        mutating func newRowIfNeeded(_ row: Int) -> Int {
            while rows.count <= row { _ = newRow() }
            return row
        }

        mutating func put(_ text: String, row: Int, x: Int, color: String? = nil) {
            var column = x
            for character in text where column < width {
                if column >= 0 { rows[row][column] = Cell(character: character, color: color) }
                column += 1
            }
        }

        mutating func putCentered(_ text: String, row: Int, center: Int, color: String? = nil) {
            put(text, row: row, x: center - text.count / 2, color: color)
        }

        func render(style: Style) -> String {
            var out = ""
            for row in rows {
                var line = ""
                var run = ""
                var runColor: String?
                func flush() {
                    if let color = runColor, style.colors { line += style.paint(run, color) } else { line += run }
                    run = ""
                }
                for cell in row {
                    if cell.color != runColor { flush(); runColor = cell.color }
                    run.append(cell.character)
                }
                flush()
                while line.hasSuffix(" ") { line.removeLast() }
                out += line + "\n"
            }
            return out
        }
    }

    private func contentLines(_ box: Box) -> [(text: String, color: String?, split: Int)] {
        let labelWidth = box.lines.map(\.label.count).max() ?? 0
        var lines: [(String, String?, Int)] = [("\(box.name)  \(box.address)", nil, 0)]
        for line in box.lines {
            let mark = line.healthy == false ? "✗" : "●"
            let text = line.label.padding(toLength: labelWidth, withPad: " ", startingAt: 0) + " \(mark) \(line.value)"
            let color: String? = switch line.healthy {
            case true?: line.value.hasPrefix("slow") ? "33" : "32"
            case false?: "31"
            case nil: nil
            }
            lines.append((text, color, labelWidth + 1))
        }
        return lines
    }

    private func width(_ box: Box) -> Int { (contentLines(box).map(\.text.count).max() ?? 0) + 4 }

    /// Draws one box with its top-left corner at (x, row); returns the next free row.
    private func draw(_ box: Box, on canvas: inout Canvas, x: Int, row: Int, joinTop: Bool, joinBottom: Bool) -> Int {
        let w = width(box)
        let center = x + w / 2
        var r = canvas.newRowIfNeeded(row)
        canvas.put("┌" + String(repeating: "─", count: w - 2) + "┐", row: r, x: x)
        if joinTop { canvas.put("┴", row: r, x: center) }
        for (index, line) in contentLines(box).enumerated() {
            r = canvas.newRowIfNeeded(r + 1)
            canvas.put("│", row: r, x: x)
            canvas.put(String(repeating: " ", count: w - 2), row: r, x: x + 1)
            if index == 0 {
                canvas.put(line.text, row: r, x: x + 2)
            } else {
                let label = String(line.text.prefix(line.split))
                canvas.put(label, row: r, x: x + 2)
                canvas.put(String(line.text.dropFirst(line.split)), row: r, x: x + 2 + line.split, color: line.color)
            }
            canvas.put("│", row: r, x: x + w - 1)
        }
        r = canvas.newRowIfNeeded(r + 1)
        canvas.put("└" + String(repeating: "─", count: w - 2) + "┘", row: r, x: x)
        if joinBottom { canvas.put("┬", row: r, x: center) }
        return r + 1
    }

    public func render(style: Style) -> String {
        let gap = 6
        let bottomWidths = bottom.map(width)
        let topWidths = top.map(width)
        let bottomTotal = bottomWidths.reduce(0, +) + max(0, bottom.count - 1) * gap
        let topTotal = topWidths.reduce(0, +) + max(0, top.count - 1) * gap
        let internet = "internet · you are \(LabNetwork.internetAddress)"
        let total = max(bottomTotal, topTotal, internet.count) + 2
        var canvas = Canvas(width: total)

        // The internet and the balancers.
        var topX = (total - topTotal) / 2
        let firstTopCenter = topX + (topWidths.first ?? 0) / 2
        var row = canvas.newRow()
        canvas.putCentered(internet, row: row, center: top.isEmpty ? total / 2 : firstTopCenter)
        row = canvas.newRow()
        canvas.put("│", row: row, x: top.isEmpty ? total / 2 : firstTopCenter)
        var nextRow = row + 1
        for (index, box) in top.enumerated() {
            let end = draw(box, on: &canvas, x: topX, row: row + 1, joinTop: index == 0,
                           joinBottom: index == 0 && links.contains { $0 != nil })
            nextRow = max(nextRow, end)
            topX += topWidths[index] + gap
        }

        // The links from the first balancer down to its servers.
        var bottomX = (total - bottomTotal) / 2
        var centers: [Int] = []
        for w in bottomWidths {
            centers.append(bottomX + w / 2)
            bottomX += w + gap
        }
        let linked = centers.indices.filter { links[$0] != nil }
        if !top.isEmpty, let first = linked.first, let last = linked.last {
            let lo = min(centers[first], firstTopCenter), hi = max(centers[last], firstTopCenter)
            let branch = canvas.newRowIfNeeded(nextRow)
            if lo < hi { canvas.put(String(repeating: "─", count: hi - lo + 1), row: branch, x: lo) }
            for index in linked {
                let x = centers[index]
                canvas.put(x == lo ? (lo == hi ? "│" : "┌") : x == hi ? "┐" : "┬", row: branch, x: x)
            }
            if lo < hi { canvas.put(centers.contains(firstTopCenter) ? "┼" : "┴", row: branch, x: firstTopCenter) }
            let labels = canvas.newRow()
            let newest = recent.last
            for index in linked {
                guard let link = links[index] else { continue }
                var text = "\(link.status) · \(link.sessions) req"
                if newest == bottom[index].name { text += " ◀ last" }
                canvas.putCentered(text, row: labels, center: centers[index], color: link.up ? "32" : "31")
            }
            let stems = canvas.newRow()
            for index in linked { canvas.put("│", row: stems, x: centers[index]) }
            nextRow = stems + 1
        }
        var x = (total - bottomTotal) / 2
        var end = nextRow
        for (index, box) in bottom.enumerated() {
            end = max(end, draw(box, on: &canvas, x: x, row: nextRow, joinTop: links.indices.contains(index) && links[index] != nil,
                                joinBottom: false))
            x += bottomWidths[index] + gap
        }
        var out = canvas.render(style: style)
        if !recent.isEmpty {
            out += "last requests (oldest first): " + recent.joined(separator: " ") + "\n"
        }
        for note in notes { out += style.red(note) + "\n" }
        return out
    }
}

