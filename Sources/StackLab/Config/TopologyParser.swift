/// Reads lab.conf: `lab NAME`, then one `server NAME ADDRESS PROCESS...` line per server.
///
/// ```swift
/// let topology = try TopologyParser.parse("lab foobar\nserver lb-01 127.0.1.1 haproxy\n", file: "lab.conf")
/// topology.server(named: "lb-01")?.processes   // [.haproxy]
/// ```
public enum TopologyParser {
    public static func parse(_ text: String, file: String) throws -> Topology {
        var name: String?
        let text = ConfigText.unixLines(text)
        var servers: [Topology.Server] = []
        let kinds = Topology.ProcessKind.allCases.map(\.rawValue)
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let keyword = words.first else { continue }
            func fail(_ directive: String, _ reason: String) -> ConfigError {
                ConfigError(file: file, line: number, directive: directive, reason: reason)
            }
            for word in words { try ConfigText.checkBytes(word, file: file, line: number, directive: keyword) }
            switch keyword {
            case "lab":
                guard words.count == 2 else { throw fail("lab", "takes one name: lab foobar") }
                guard name == nil else { throw fail("lab", "the lab is already named \"\(name!)\"") }
                name = words[1]
            case "server":
                guard words.count >= 4 else { throw fail("server", "write: server NAME ADDRESS PROCESS..., e.g. server web-01 127.0.1.11 nginx gunicorn") }
                let serverName = words[1], address = words[2]
                guard serverName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                    throw fail("server", "\"\(serverName)\" is not a server name: letters, digits, - and _ only (it is also the server's folder)")
                }
                if let other = servers.first(where: { $0.name == serverName }) {
                    throw fail("server", "\"\(serverName)\" is already defined at line \(other.line)")
                }
                guard ConfigText.isIPv4(address) else { throw fail("server", "\"\(address)\" is not an IPv4 address, e.g. 127.0.1.11") }
                guard ConfigText.isLoopback(address) else {
                    throw fail("server", "\(address) is not a loopback address: stacklab listens on loopback only (127.0.0.0/8), e.g. 127.0.1.11")
                }
                if let other = servers.first(where: { $0.address == address }) {
                    throw fail("server", "\(address) is already the address of \(other.name) (line \(other.line)): each server needs its own")
                }
                var processes: [Topology.ProcessKind] = []
                for word in words.dropFirst(3) {
                    guard let kind = Topology.ProcessKind(rawValue: word) else {
                        let hint = ConfigText.nearest(word, in: kinds).map { " — did you mean \"\($0)\"?" } ?? " (processes: \(kinds.joined(separator: ", ")))"
                        throw fail("server", "unknown process \"\(word)\"" + hint)
                    }
                    guard !processes.contains(kind) else { throw fail("server", "\(word) is listed twice: one \(word) per server") }
                    processes.append(kind)
                }
                servers.append(Topology.Server(name: serverName, address: address, processes: processes, line: number))
            default:
                let hint = ConfigText.nearest(keyword, in: ["lab", "server"]).map { " — did you mean \"\($0)\"?" } ?? " (lab.conf has \"lab NAME\" and \"server NAME ADDRESS PROCESS...\" lines)"
                throw fail(keyword, "unknown keyword" + hint)
            }
        }
        guard let name else { throw ConfigError(file: file, line: 0, directive: "lab", reason: "no \"lab NAME\" line: start the file with e.g. lab foobar") }
        guard !servers.isEmpty else { throw ConfigError(file: file, line: 0, directive: "server", reason: "no server: add e.g. server web-01 127.0.1.11 nginx gunicorn") }
        return Topology(name: name, servers: servers)
    }
}
