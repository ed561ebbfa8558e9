/// Small pieces shared by the lab-file parsers: nearest-name suggestions, addresses, numbers.
enum ConfigText {
    /// How deep blocks may nest in any lab file (nginx.conf blocks, keepalived.conf, alerts.yml): far more than a
    /// real file needs, far less than what would exhaust a thread's stack in the parser or in freeing its tree.
    static let maximumNesting = 100

    /// The reason for a file nested past `maximumNesting`.
    static func nestingReason(_ what: String) -> String {
        "\(what) nested more than \(maximumNesting) deep: stacklab reads at most \(maximumNesting) levels"
    }

    /// The text with Windows line ends made plain "\n". Needed before any split on "\n": Swift reads "\r\n" as one
    /// Character, so a CRLF file would otherwise be one long line.
    static func unixLines(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.filter { $0 != "\r" })
        return String(scalars)
    }

    /// The supported name closest to a typo, when it is close enough to be what the learner meant.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        let lowered = word.lowercased()
        let length = lowered.count
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            // The distance is at least the difference in length: a runaway word is compared with nothing.
            guard abs(candidate.count - length) <= 3 else { continue }
            let d = editDistance(lowered, candidate.lowercased())
            if d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        guard let best else { return nil }
        // Up to a third of the word may be wrong ("proxy_pas", "balence", "wokers"), at least one edit.
        let allowed = max(1, min(3, word.count / 3))
        return best.distance <= allowed ? best.name : nil
    }

    /// The reason for a word that is not in the subset: a suggestion for a typo, a plain "not supported" for a real
    /// directive of the tool, the list otherwise.
    static func unknownReason(_ word: String, kind: String, supported: [String], realButUnsupported: Set<String>, tool: String) -> String {
        if realButUnsupported.contains(word) {
            return "not supported by stacklab's \(tool) (supported: \(compact(supported)))"
        }
        if let near = nearest(word, in: supported) {
            return "unknown \(kind) — did you mean \"\(near)\"?"
        }
        return "unknown \(kind) (supported: \(compact(supported)))"
    }

    /// A short list for a reason: families of three or more names that share a prefix become `proxy_*`.
    static func compact(_ names: [String]) -> String {
        func family(_ name: String) -> String? { name.firstIndex(of: "_").map { String(name[..<$0]) } }
        var counts: [String: Int] = [:]
        for name in names { if let f = family(name) { counts[f, default: 0] += 1 } }
        var shown: [String] = []
        for name in names {
            if let f = family(name), counts[f, default: 0] >= 3 {
                if !shown.contains(f + "_*") { shown.append(f + "_*") }
            } else {
                shown.append(name)
            }
        }
        return shown.joined(separator: ", ")
    }

    /// Optimal-string-alignment distance: insert, delete, replace, or swap two neighbours ("porxy") cost one each.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in stride(from: 1, through: a.count, by: 1) {
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }

    /// A dotted-quad IPv4 address (`127.0.1.11`).
    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) && (Int(part) ?? 256) <= 255
        }
    }

    static func isLoopback(_ address: String) -> Bool { isIPv4(address) && address.hasPrefix("127.") }

    /// A port number 1…65535, or nil.
    static func port(_ text: some StringProtocol) -> Int? {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text), (1...65535).contains(n) else { return nil }
        return n
    }

    /// A non-negative decimal integer, or nil.
    static func integer(_ text: some StringProtocol) -> Int? {
        guard !text.isEmpty, text.count < 10, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// What `*`, an empty host or `0.0.0.0` means in a config file: every address of the machine. The parsers
    /// record it as written so the lab's check can refuse it with its file and line (LabFiles); nothing ever binds
    /// it, as every listener refuses a host outside 127.0.0.0/8 (Listener.start).
    static let everyAddress = "0.0.0.0"

    /// Splits `HOST:PORT`. The host may be empty or `*` (every address, returned as `everyAddress`); `localhost` is
    /// 127.0.0.1. Returns the reason when it is not an address stacklab can use.
    static func hostPort(_ text: String, example: String) -> Result<(host: String, port: Int), AddressError> {
        guard let colon = text.lastIndex(of: ":") else {
            return .failure(AddressError("missing port: write ADDRESS:PORT, e.g. \(example)"))
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = port(portText) else {
            return .failure(AddressError("invalid port \"\(portText)\": a port is 1 to 65535"))
        }
        if host.isEmpty || host == "*" || host == everyAddress { host = everyAddress }
        else if host == "localhost" { host = "127.0.0.1" }
        else if host.hasPrefix("[") || host.contains(":") {
            return .failure(AddressError("IPv6 addresses are not supported: stacklab uses IPv4 loopback addresses, e.g. \(example)"))
        } else if !isIPv4(host) {
            return .failure(AddressError("\"\(host)\" is not an IP address: stacklab needs one here, e.g. \(example)"))
        }
        return .success((host, port))
    }

    struct AddressError: Error { var reason: String; init(_ reason: String) { self.reason = reason } }
}
