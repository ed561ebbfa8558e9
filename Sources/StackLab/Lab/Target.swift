/// What a fault or a command is aimed at: a whole server (`web-01`) or one process on it (`web-01/nginx`).
public enum Target: Sendable, Equatable, CustomStringConvertible {
    case server(String)
    case process(server: String, process: Topology.ProcessKind)

    public var description: String {
        switch self {
        case .server(let name): name
        case .process(let server, let process): "\(server)/\(process.rawValue)"
        }
    }

    public var serverName: String {
        switch self {
        case .server(let name): name
        case .process(let server, _): server
        }
    }

    /// Parses `web-01`, `web-01/nginx` (also `nginx@web-01`), checking names against the topology.
    public static func parse(_ text: String, in topology: Topology) throws(TargetError) -> Target {
        let serverNames = topology.servers.map(\.name)
        var serverPart = text
        var processPart: String?
        if let slash = text.firstIndex(of: "/") {
            serverPart = String(text[..<slash])
            processPart = String(text[text.index(after: slash)...])
        } else if let at = text.firstIndex(of: "@") {
            processPart = String(text[..<at])
            serverPart = String(text[text.index(after: at)...])
        }
        guard let server = topology.server(named: serverPart) else {
            var message = "unknown server '\(serverPart)' — servers: \(serverNames.joined(separator: ", "))"
            if let near = Suggestions.nearest(serverPart, in: serverNames) { message += " (did you mean '\(near)'?)" }
            throw TargetError(message: message)
        }
        guard let processPart, !processPart.isEmpty else { return .server(server.name) }
        let names = server.processes.map(\.rawValue)
        guard let kind = Topology.ProcessKind(rawValue: processPart), server.processes.contains(kind) else {
            throw TargetError(message: "\(server.name) runs no process '\(processPart)' — it runs: "
                + names.map { "\(server.name)/\($0)" }.joined(separator: ", "))
        }
        return .process(server: server.name, process: kind)
    }
}

public struct TargetError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// "Did you mean …?" for names typed by a learner (the same rule as the config parsers' suggestions).
public enum Suggestions {
    /// The closest candidate within a small edit distance, nil when nothing is close.
    public static func nearest(_ word: String, in candidates: [String]) -> String? {
        ConfigText.nearest(word, in: candidates)
    }
}
