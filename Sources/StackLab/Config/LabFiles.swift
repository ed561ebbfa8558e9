import Foundation

/// A lab folder, read and checked: lab.conf, then each process's config file in its server's folder.
///
/// ```swift
/// let lab = try LabDefinition.load(directory: "/home/me/foobar")
/// lab.haproxy["lb-01"]?.backend(named: "web")?.servers.count   // 2
/// ```
///
/// Every problem in every file is collected before anything is thrown, so a learner sees them all at once.
public struct LabDefinition: Sendable {
    /// The lab folder, absolute.
    public var directory: String
    /// Where the running lab writes what it makes (logs, store data): relative `logs/…` and `datadir` paths are
    /// taken from `STATE/SERVER/`; nil: from the lab folder's own server folders, as on the real servers.
    public var stateDirectory: String?
    public var topology: Topology
    /// Parsed configs, keyed by server name.
    public var haproxy: [String: HAProxyConfig]
    public var nginx: [String: NginxConfig]
    public var gunicorn: [String: GunicornConfig]
    public var mysql: [String: MySQLConfig]
    /// keepalived.conf of the servers that run keepalived (the second balancer's floating address).
    public var keepalived: [String: KeepalivedConfig] = [:]
    /// Each mysql server's init_file, split into statements (comments removed), keyed by server name.
    public var mysqlInitStatements: [String: [String]]
    /// Each server's firewall from its optional `ufw.rules`, keyed by server name.
    public var ufw: [String: UFWRuleSet] = [:]
    /// What a learner should read before starting: HAProxy's start-up warnings and cross-file doubts (a balancer
    /// server that no lab process listens on), each with its file.
    public var warnings: [String]

    public init(directory: String, topology: Topology, haproxy: [String: HAProxyConfig] = [:], nginx: [String: NginxConfig] = [:],
                gunicorn: [String: GunicornConfig] = [:], mysql: [String: MySQLConfig] = [:],
                mysqlInitStatements: [String: [String]] = [:], warnings: [String] = []) {
        self.directory = directory
        self.topology = topology
        self.haproxy = haproxy
        self.nginx = nginx
        self.gunicorn = gunicorn
        self.mysql = mysql
        self.mysqlInitStatements = mysqlInitStatements
        self.warnings = warnings
    }

    /// Reads and checks the lab in `directory`; throws a `LabLoadError` holding every problem found.
    public static func load(directory: String) throws -> LabDefinition {
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        var errors: [ConfigError] = []
        /// The file's bytes, nil when it does not exist; a file that exists but cannot be read is an error.
        func bytes(_ relative: String, at path: String? = nil) throws(ConfigError) -> [UInt8]? {
            try LabFileText.bytes(atPath: path ?? root.appendingPathComponent(relative).path, file: relative)
        }

        let labText: String
        do throws(ConfigError) {
            guard let labBytes = try bytes("lab.conf") else {
                throw ConfigError(file: "lab.conf", line: 0, directive: "",
                    reason: "missing: a lab folder needs lab.conf, with a \"lab NAME\" line and a \"server NAME ADDRESS PROCESS...\" line per server")
            }
            labText = LabFileText.decode(labBytes)
        } catch { throw LabLoadError(errors: [error]) }
        let topology: Topology
        do { topology = try TopologyParser.parse(labText, file: "lab.conf") } catch let error as ConfigError { throw LabLoadError(errors: [error]) }

        var lab = LabDefinition(directory: root.path, topology: topology)
        var texts: [String: String] = [:]   // file → text, for finding lines in cross-checks
        for server in topology.servers {
            for kind in server.processes {
                let file = "\(server.name)/\(kind.configFile)"
                do {
                    guard let data = try bytes(file) else {
                        errors.append(ConfigError(file: file, line: 0, directive: "",
                            reason: "missing: \(server.name) runs \(kind.rawValue) (lab.conf line \(server.line)), so this file must hold its \(kind.contents)"))
                        continue
                    }
                    // gunicorn runs its file as Python, which reads UTF-8 only; the others read bytes.
                    let text = kind == .gunicorn ? try LabFileText.python(data, file: file) : LabFileText.decode(data)
                    texts[file] = text
                    switch kind {
                    case .haproxy:
                        let config = try HAProxyConfigParser.parse(text, file: file)
                        // HAProxy 2.6 on a file without a bind: "Configuration file has no error but will not start (no listener)".
                        if config.frontends.allSatisfy({ $0.binds.isEmpty }) {
                            throw ConfigError(file: file, line: 0, directive: "", reason: "Configuration file has no error but will not start "
                                + "(no listener): add a frontend with a bind line, e.g. bind \(server.address):8080")
                        }
                        lab.haproxy[server.name] = config
                        lab.warnings += config.warnings.map { $0.hasPrefix("parsing [") ? $0 : "\(file): \($0)" }
                    case .nginx: lab.nginx[server.name] = try NginxConfigParser.parse(text, file: file)
                    case .keepalived: lab.keepalived[server.name] = try KeepalivedConfigParser.parse(text, file: file)
                    case .gunicorn: lab.gunicorn[server.name] = try GunicornConfigParser.parse(text, file: file)
                    case .mysql:
                        try MySQLOptionFile.checkBytes(text, file: file)
                        let config = try MySQLConfigParser.parse(text, file: file)
                        lab.mysql[server.name] = config
                        if let initFile = config.initFile {
                            let initPath = initFile.hasPrefix("/") ? initFile : "\(server.name)/\(initFile)"
                            if let sql = try bytes(initPath, at: initFile.hasPrefix("/") ? initFile : nil) {
                                lab.mysqlInitStatements[server.name] = try MySQLInitFile.read(LabFileText.decode(sql), file: initPath)
                            } else {
                                errors.append(ConfigError(file: initPath, line: 0, directive: "",
                                    reason: "missing: \(file) names it as init_file, so it must hold the SQL to run at first start"))
                            }
                        }
                    }
                } catch let error as ConfigError {
                    errors.append(error)
                }
            }
        }
        for server in topology.servers {
            // ufw.rules is optional: without it the server's firewall is as ufw ships, inactive. A file that is there
            // but cannot be read or parsed is an error, so the lab does not start without the rules it was given.
            let file = "\(server.name)/ufw.rules"
            do throws(ConfigError) {
                guard let data = try bytes(file) else { continue }
                lab.ufw[server.name] = try UFWRulesParser.parse(LabFileText.decode(data), file: file)
            } catch { errors.append(error) }
        }
        var checks = CrossCheck(lab: lab, texts: texts)
        checks.run()
        errors += checks.errors
        lab.warnings += checks.warnings
        guard errors.isEmpty else { throw LabLoadError(errors: errors) }
        return lab
    }

    /// The folder of a lab built into stacklab (`foobar`), or nil when there is none of that name.
    public static func builtIn(named name: String) -> URL? {
        guard let url = EmbeddedResources.url?.appendingPathComponent("labs").appendingPathComponent(name),
              FileManager.default.fileExists(atPath: url.appendingPathComponent("lab.conf").path) else { return nil }
        return url
    }

    /// The names of the built-in labs.
    public static var builtInNames: [String] {
        guard let labs = EmbeddedResources.url?.appendingPathComponent("labs"),
              let names = try? FileManager.default.contentsOfDirectory(atPath: labs.path) else { return [] }
        return names.filter { builtIn(named: $0) != nil }.sorted()
    }

    /// Copies a built-in lab into `directory` (created if needed) for `stacklab lab init DIR`. Refuses a folder that
    /// already holds anything, so a learner's work is never overwritten.
    public static func writeBuiltIn(named name: String, to directory: String) throws {
        guard let source = builtIn(named: name) else {
            throw LabWriteError("there is no built-in lab \"\(name)\" (built in: \(builtInNames.joined(separator: ", ")))")
        }
        let fm = FileManager.default
        let destination = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: destination.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw LabWriteError("\(destination.path) is a file: choose a new folder for the lab") }
            let existing = (try? fm.contentsOfDirectory(atPath: destination.path)) ?? []
            guard existing.isEmpty else {
                throw LabWriteError("\(destination.path) is not empty: stacklab will not overwrite it; choose a new folder")
            }
        } else {
            do { try fm.createDirectory(at: destination, withIntermediateDirectories: true) }
            catch { throw LabWriteError("cannot create \(destination.path): \(error.localizedDescription)") }
        }
        do {
            for item in try fm.contentsOfDirectory(atPath: source.path) {
                try fm.copyItem(at: source.appendingPathComponent(item), to: destination.appendingPathComponent(item))
            }
        } catch {
            throw LabWriteError("cannot copy the \(name) lab into \(destination.path): \(error.localizedDescription)")
        }
    }
}

/// Every problem found while loading a lab, one per line: `web-01/nginx.conf:12: "proxy_pas": unknown directive …`.
public struct LabLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// A built-in lab could not be written to a folder.
public struct LabWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Topology.ProcessKind {
    /// What the config file must hold, for the "missing file" error.
    var contents: String {
        switch self {
        case .haproxy: "balancer configuration (global, defaults, frontend and backend sections)"
        case .nginx: "web server configuration (events { } and http { server { … } })"
        case .gunicorn: "app server settings (bind, workers, …, one \"name = value\" per line)"
        case .mysql: "database settings ([mysqld] with server-id, bind-address, …)"
        case .keepalived: "VRRP settings (vrrp_instance NAME { state, priority, advert_int, virtual_ipaddress { … } })"
        }
    }
}

// MARK: - init_file

enum MySQLInitFile {
    /// The statements of an init_file. The store takes SQL as utf8mb4 text: a byte that is not UTF-8 is fine in a
    /// comment and an error anywhere else (MySQL would refuse it in a string: ERROR 1366, Incorrect string value).
    static func read(_ sql: String, file: String) throws(ConfigError) -> [String] {
        let (statements, stray) = split(sql)
        if let stray {
            throw ConfigError(file: file, line: stray.line, directive: "", reason: "byte 0x\(LabFileText.hex(stray.byte)) is not UTF-8: "
                + "the store reads SQL as utf8mb4 text (other bytes only in comments); save the file as UTF-8")
        }
        return statements
    }

    /// Splits SQL into statements on `;` outside quotes, dropping `-- `, `#` and `/* */` comments as mysql does.
    static func statements(in sql: String) -> [String] { split(sql).statements }

    /// The statements, and the line of the first byte outside a comment that `LabFileText.decode` kept.
    private static func split(_ sql: String) -> (statements: [String], stray: (line: Int, byte: UInt8)?) {
        var statements: [String] = []
        var stray: (line: Int, byte: UInt8)?
        var current = ""
        let chars = Array(ConfigText.unixLines(sql))
        var i = 0
        var line = 1
        func keep(_ c: Character) {
            if c == "\n" { line += 1 }
            if stray == nil, let byte = ConfigText.strayByte(in: String(c)) { stray = (line, byte) }
            current.append(c)
        }
        func skip(_ c: Character) { if c == "\n" { line += 1 } }
        func flush() {
            let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !statement.isEmpty { statements.append(statement) }
            current = ""
        }
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "'", "\"", "`":
                keep(c)
                i += 1
                while i < chars.count {
                    let d = chars[i]
                    keep(d)
                    i += 1
                    if d == "\\", c != "`", i < chars.count { keep(chars[i]); i += 1; continue }
                    if d == c {
                        if i < chars.count, chars[i] == c { keep(c); i += 1; continue }   // '' inside '…'
                        break
                    }
                }
            case "-" where i + 1 < chars.count && chars[i + 1] == "-" && (i + 2 >= chars.count || chars[i + 2].isWhitespace),
                 "#":
                while i < chars.count, chars[i] != "\n" { i += 1 }
            case "/" where i + 1 < chars.count && chars[i + 1] == "*":
                i += 2
                while i + 1 < chars.count, !(chars[i] == "*" && chars[i + 1] == "/") { skip(chars[i]); i += 1 }
                i += 2
                current.append(" ")
            case ";":
                flush()
                i += 1
            default:
                keep(c)
                i += 1
            }
        }
        flush()
        return (statements, stray)
    }
}

// MARK: - my.cnf bytes

enum MySQLOptionFile {
    /// my.cnf as mysqld reads it: `#` and `;` lines and `#` after a value are comments, where any byte is fine; a
    /// byte that is not UTF-8 anywhere else is an error with the line.
    static func checkBytes(_ text: String, file: String) throws(ConfigError) {
        for (index, raw) in ConfigText.unixLines(text).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard ConfigText.strayByte(in: raw) != nil else { continue }
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.first == "#" || line.first == ";" { continue }
            var quote: Character?
            var end = line.endIndex
            for index in line.indices {
                let c = line[index]
                if let q = quote { if c == q { quote = nil }; continue }
                if c == "\"" || c == "'" { quote = c } else if c == "#" { end = index; break }
            }
            let content = line[..<end]
            let name = content.split(separator: "=", maxSplits: 1).first.map { $0.trimmingSpaces } ?? ""
            try ConfigText.checkBytes(content, file: file, line: index + 1, directive: name)
        }
    }
}

// MARK: - Checks across files

/// Whether the lab can run as written: each process listens on its own server's address, no two processes of a
/// server share a port, and what the balancer and web servers forward to exists in the lab.
private struct CrossCheck {
    let lab: LabDefinition
    let texts: [String: String]
    var errors: [ConfigError] = []
    var warnings: [String] = []

    struct Listener { var server: String; var process: Topology.ProcessKind; var file: String; var line: Int; var host: String; var port: Int }

    init(lab: LabDefinition, texts: [String: String]) {
        self.lab = lab
        self.texts = texts
    }

    /// The line that sets `key` in a `key = value` file (gunicorn, my.cnf), dashes and underscores alike; 0 if none.
    func line(of key: String, in file: String) -> Int {
        guard let text = texts[file] else { return 0 }
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let name = line.split(separator: "=", maxSplits: 1).first.map { $0.trimmingSpaces.replacingDashes.lowercased() } ?? ""
            if name == key || name == "loose_" + key { return index + 1 }
        }
        return 0
    }

    mutating func run() {
        var listeners: [Listener] = []
        for server in lab.topology.servers {
            let name = server.name
            if let config = lab.haproxy[name] {
                for frontend in config.frontends {
                    for bind in frontend.binds {
                        listeners.append(Listener(server: name, process: .haproxy, file: "\(name)/haproxy.cfg", line: bind.line, host: bind.host, port: bind.port))
                    }
                }
            }
            if let config = lab.nginx[name] {
                for listen in config.servers.flatMap(\.listens) {
                    listeners.append(Listener(server: name, process: .nginx, file: "\(name)/nginx.conf", line: listen.line, host: listen.host, port: listen.port))
                }
            }
            if let config = lab.gunicorn[name] {
                let file = "\(name)/gunicorn.conf.py"
                listeners.append(Listener(server: name, process: .gunicorn, file: file, line: line(of: "bind", in: file), host: config.bindHost, port: config.bindPort))
            }
            if let config = lab.mysql[name] {
                let file = "\(name)/my.cnf"
                let keyLine = line(of: "bind_address", in: file)
                listeners.append(Listener(server: name, process: .mysql, file: file, line: keyLine, host: config.bindAddress, port: config.port))
            }
        }
        checkAddresses(listeners)
        checkPorts(listeners)
        checkTargets(listeners)
    }

    /// Each process listens on its own server's address from lab.conf.
    mutating func checkAddresses(_ listeners: [Listener]) {
        for listener in listeners {
            guard let server = lab.topology.server(named: listener.server), listener.host != server.address else { continue }
            // A floating address of this server's keepalived (virtual_ipaddress) is this server's while it is MASTER.
            if lab.keepalived[server.name]?.virtualAddresses.contains(listener.host) == true { continue }
            let directive = switch listener.process {
            case .haproxy: "bind"; case .nginx: "listen"; case .gunicorn: "bind"; case .mysql: "bind-address"; case .keepalived: "virtual_ipaddress"
            }
            let reason: String
            if listener.host == ConfigText.everyAddress {
                reason = "listens on all addresses; stacklab listens on loopback only, each server on its own address: use \(server.address) (from lab.conf)"
            } else if let other = lab.topology.servers.first(where: { $0.address == listener.host }) {
                reason = "\(listener.host) is \(other.name)'s address, but this file is \(server.name)'s: use \(server.address) (from lab.conf)"
            } else {
                reason = "\(listener.host) is not \(server.name)'s address: use \(server.address) (from lab.conf)"
            }
            errors.append(ConfigError(file: listener.file, line: listener.line, directive: directive, reason: reason))
        }
    }

    /// Two processes of one server cannot listen on the same port.
    mutating func checkPorts(_ listeners: [Listener]) {
        for (index, listener) in listeners.enumerated() {
            if let earlier = listeners[..<index].first(where: { $0.server == listener.server && $0.port == listener.port && $0.host == listener.host }) {
                guard earlier.process != listener.process else { continue }   // nginx servers may share a listen address
                errors.append(ConfigError(file: listener.file, line: listener.line, directive: "\(listener.port)",
                    reason: "port \(listener.port) on \(listener.server) is already taken by \(earlier.process.rawValue) (\(earlier.file):\(earlier.line)): choose another port"))
            }
        }
    }

    /// Where the balancer's servers and nginx's upstreams point: somewhere in the lab that listens, or a warning.
    mutating func checkTargets(_ listeners: [Listener]) {
        func describe(_ host: String, _ port: Int) -> String? {
            guard let target = lab.topology.servers.first(where: { $0.address == host }) else {
                return "\(host) is not the address of any server in lab.conf: nothing will answer there"
            }
            if !listeners.contains(where: { $0.server == target.name && $0.port == port }) {
                return "nothing on \(target.name) listens on port \(port) (\(host):\(port))"
            }
            return nil
        }
        for server in lab.topology.servers {
            if let config = lab.haproxy[server.name] {
                for backend in config.backends {
                    for target in backend.servers {
                        if let doubt = describe(target.host, target.port) {
                            warnings.append("\(server.name)/haproxy.cfg:\(target.line): server \(backend.name)/\(target.name): \(doubt)")
                        }
                    }
                }
            }
            if let config = lab.nginx[server.name] {
                for upstream in config.upstreams {
                    for target in upstream.servers {
                        if let doubt = describe(target.host, target.port) {
                            warnings.append("\(server.name)/nginx.conf:\(target.line): upstream \(upstream.name): \(doubt)")
                        }
                    }
                }
                for location in config.servers.flatMap(\.locations) {
                    guard let pass = location.proxyPass else { continue }
                    let hostPort = pass.dropFirst("http://".count).prefix { $0 != "/" }
                    guard config.upstream(named: String(hostPort)) == nil else { continue }
                    let parts = hostPort.split(separator: ":")
                    let named = parts.first.map(String.init) ?? ""
                    let host = named == "localhost" ? "127.0.0.1" : named
                    let port = parts.count == 2 ? Int(parts[1]) ?? 80 : 80
                    if let doubt = describe(host, port) {
                        warnings.append("\(server.name)/nginx.conf:\(location.line): proxy_pass \(pass): \(doubt)")
                    }
                }
            }
        }
    }
}
