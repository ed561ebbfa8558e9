import Foundation
import StackLab

/// What Tab offers: verbs first, then what each verb takes (servers and processes, lab files, paths, verbs).
public struct Completer: Sendable {
    public var verbs: [String]
    /// `lb-01`, `web-01`, … then `web-01/nginx`, …
    public var servers: [String]
    public var processes: [String]
    /// Files of the running lab, relative to its folder (`lb-01/haproxy.cfg`).
    public var labFiles: [String]
    public var courseNames: [String]
    /// Paths of the foobar site, for `curl` and `load`.
    public var sitePaths = ["/", "/api/posts", "/login", "/health", "/static/hello.txt", "/static/style.css"]

    public init(verbs: [String], servers: [String], processes: [String], labFiles: [String] = [], courseNames: [String] = []) {
        self.verbs = verbs
        self.servers = servers
        self.processes = processes
        self.labFiles = labFiles
        self.courseNames = courseNames
    }

    public init(verbs: [String], lab: Lab, courseNames: [String] = []) {
        let servers = lab.topology.servers
        self.init(verbs: verbs, servers: servers.map(\.name),
                  processes: servers.flatMap { server in server.processes.map { "\(server.name)/\($0.rawValue)" } },
                  labFiles: LabFiles.list(in: lab.definition.directory), courseNames: courseNames)
    }

    /// The result of completing the word before the cursor.
    public struct Result: Sendable, Equatable {
        /// The word being completed, as typed.
        public var word: String
        /// Whole words that fit, sorted.
        public var candidates: [String]
        /// Candidates that are folders: completing one adds `/`, not a space.
        public var folders: Set<String> = []

        /// What to type after the word: the rest of the only candidate (plus a space, or `/` for a folder), or the
        /// longest common prefix of several.
        public var insertion: String {
            guard !candidates.isEmpty else { return "" }
            if candidates.count == 1 {
                let only = candidates[0]
                return String(only.dropFirst(word.count)) + (folders.contains(only) || only.hasSuffix("/") ? "" : " ")
            }
            let common = candidates.dropFirst().reduce(candidates[0]) { $0.commonPrefix(with: $1) }
            return String(common.dropFirst(min(word.count, common.count)))
        }
    }

    /// Completes the last word of `line` (the text before the cursor).
    public func complete(_ line: String) -> Result {
        var (words, current) = CommandLineText.partialWords(in: line)
        // After `;` a new command starts.
        if let separator = words.lastIndex(where: { $0.hasSuffix(";") }) { words = Array(words[(separator + 1)...]) }
        // `watch 2 status` completes like `status`.
        if words.first == "watch" {
            words.removeFirst()
            if let first = words.first, Double(first) != nil { words.removeFirst() }
            if words.isEmpty { return match(current, in: verbs.filter { $0 != "watch" }) }
        }
        guard let verb = words.first else { return match(current, in: verbs) }
        let arguments = Array(words.dropFirst()).filter { !$0.hasPrefix("-") }
        let targets = servers + processes
        switch verb {
        case "help", "?": return arguments.isEmpty ? match(current, in: verbs) : none(current)
        case "kill", "crash", "stop", "hang", "slow", "revive":
            return arguments.isEmpty ? match(current, in: targets) : none(current)
        case "logs":
            return match(current, in: targets)
        case "partition", "heal":
            return arguments.count < 2 ? match(current, in: servers.filter { !arguments.contains($0) }) : none(current)
        case "sql":
            let stores = processes.filter { $0.hasSuffix("/mysql") }
            let keywords = ["SELECT", "INSERT", "UPDATE", "DELETE", "SHOW", "CREATE", "STOP", "START", "RESET", "SET"]
            return arguments.isEmpty ? match(current, in: stores + servers + keywords) : match(current, in: keywords + ["FROM", "WHERE", "posts"])
        case "curl", "load":
            if current.hasPrefix("/") { return match(current, in: sitePaths) }
            return current.isEmpty ? match(current, in: sitePaths) : paths(current)
        case "lab":
            guard let sub = arguments.first else { return match(current, in: ["init", "load", "show"]) }
            if sub == "show" { return arguments.count == 1 ? match(current, in: labFiles) : none(current) }
            return arguments.count == 1 ? paths(current) : none(current)
        case "lesson", "exercise", "grade", "hint", "demo":
            return match(current, in: courseNames)
        case "run":
            return paths(current)
        default:
            return none(current)
        }
    }

    private func none(_ word: String) -> Result { Result(word: word, candidates: []) }

    private func match(_ word: String, in list: [String]) -> Result {
        var seen = Set<String>()
        let found = list.filter { $0.hasPrefix(word) && seen.insert($0).inserted }
        return Result(word: word, candidates: found)
    }

    /// File and folder names that start with the word (`~` is the home folder).
    public func paths(_ word: String) -> Result {
        let expanded = word.hasPrefix("~") ? (NSHomeDirectory() + word.dropFirst()) : word
        let slash = expanded.lastIndex(of: "/")
        let folder = slash.map { String(expanded[...$0]) } ?? ""
        let prefix = slash.map { String(expanded[expanded.index(after: $0)...]) } ?? expanded
        let typedFolder = word.lastIndex(of: "/").map { String(word[...$0]) } ?? ""
        let listing = (try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? []
        var candidates: [String] = []
        var folders = Set<String>()
        for name in listing.sorted() where name.hasPrefix(prefix) && (prefix.hasPrefix(".") || !name.hasPrefix(".")) {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: folder + name, isDirectory: &isDirectory)
            let candidate = typedFolder + name + (isDirectory.boolValue ? "/" : "")
            candidates.append(candidate)
            if isDirectory.boolValue { folders.insert(candidate) }
        }
        return Result(word: word, candidates: candidates, folders: folders)
    }
}

/// The files of a lab folder that a learner edits (configs, SQL, site files), relative to the folder.
enum LabFiles {
    static func list(in directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [String] = []
        let kept = ["conf", "cfg", "py", "cnf", "sql", "yml", "yaml", "rules", "txt", "css", "html"]
        while let path = enumerator.nextObject() as? String {
            if path.hasPrefix("logs") || path.contains("/logs/") || path.contains("/data/") { continue }
            if kept.contains((path as NSString).pathExtension) { files.append(path) }
            if files.count > 200 { break }
        }
        return files.sorted { ($0.split(separator: "/").count, $0) < ($1.split(separator: "/").count, $1) }
    }
}
