import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

/// How lab files are read before any parser sees them: bytes that are not UTF-8, files that cannot be read, nesting
/// deep enough to exhaust a stack, words longer than nginx's buffer.
@Suite(.runsALab) struct LabFileReadingTests {
    func labCopy(_ name: String = "foobar") throws -> URL {
        let folder = try temporaryFolder().appendingPathComponent("lab")
        try LabDefinition.writeBuiltIn(named: name, to: folder.path)
        return folder
    }

    func cleanUp(_ folder: URL) { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }

    /// Puts `bytes` into the lab's `file` right after `marker`.
    func insert(_ bytes: [UInt8], after marker: String, in file: String, of folder: URL) throws {
        let url = folder.appendingPathComponent(file)
        let data = try Data(contentsOf: url)
        let range = try #require(data.range(of: Data(marker.utf8)), "\(file) has no \"\(marker)\"")
        try (data[..<range.upperBound] + bytes + data[range.upperBound...]).write(to: url)
    }

    func loadErrors(_ folder: URL, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigError] {
        do {
            _ = try LabDefinition.load(directory: folder.path)
            Issue.record("the lab loaded without error", sourceLocation: sourceLocation)
        } catch let error as LabLoadError {
            return error.errors
        } catch {
            Issue.record("expected a LabLoadError, got \(error)", sourceLocation: sourceLocation)
        }
        return []
    }

    func lineOf(_ marker: String, in file: String, of folder: URL) throws -> Int {
        let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
        return try #require(text.components(separatedBy: "\n").firstIndex { $0.contains(marker) }) + 1
    }

    // MARK: bytes that are not UTF-8

    /// `# café` written by a Latin-1 editor: nginx, HAProxy, MySQL and ufw never look at a comment's bytes.
    @Test(arguments: [
        ("lab.conf", "# The foobar.com lab"), ("lb-01/haproxy.cfg", "#"), ("web-01/nginx.conf", "# web-01"),
        ("web-01/my.cnf", "#"), ("web-01/init.sql", "--"), ("web-01/ufw.rules", "# web-01"),
    ])
    func aLatin1ByteInACommentIsFine(file: String, comment: String) throws {
        let lab = try labCopy("foobar-hardened")
        defer { cleanUp(lab) }
        try insert(Array(" caf".utf8) + HostileFiles.latin1E, after: comment, in: file, of: lab)
        let definition = try LabDefinition.load(directory: lab.path)
        #expect(definition.ufw["web-01"]?.enabled == true)
    }

    /// Outside a comment the same byte is an error on its line that names it — never "missing", never ignored.
    @Test(arguments: [
        ("lab.conf", "lab foob"), ("lb-01/haproxy.cfg", "backend we"), ("web-01/nginx.conf", "server_name www.foo"),
        ("web-01/my.cnf", "server-id"), ("web-01/ufw.rules", "default deny incomin"), ("web-01/init.sql", "INSERT INTO foobar.po"),
    ])
    func aLatin1ByteOutsideACommentIsAnErrorOnItsLine(file: String, marker: String) throws {
        let lab = try labCopy("foobar-hardened")
        defer { cleanUp(lab) }
        let line = try lineOf(marker, in: file, of: lab)
        try insert(HostileFiles.latin1E, after: marker, in: file, of: lab)
        let errors = loadErrors(lab)
        let error = try #require(errors.first { $0.file == file }, "errors: \(errors)")
        #expect(error.line == line, "\(error)")
        #expect(error.description.contains("byte 0xE9") && error.description.contains("not UTF-8"), "\(error)")
        #expect(!error.description.contains("missing"))
    }

    /// The firewall never fails open: a byte that is not UTF-8 in a rule leaves the lab unloaded (and a running lab
    /// with the firewall it had), not a server without rules.
    @Test func aLatin1ByteInAUfwRuleKeepsTheFirewallFromOpening() throws {
        let lab = try labCopy("foobar-hardened")
        defer { cleanUp(lab) }
        try insert(HostileFiles.latin1E, after: "allow from 127.0.1.12 to any port 3306 proto tcp", in: "web-01/ufw.rules", of: lab)
        let errors = loadErrors(lab)
        #expect(errors.map(\.file) == ["web-01/ufw.rules"], "\(errors)")
    }

    /// A ufw.rules that is there but cannot be read is an error, never "no firewall".
    @Test func aUfwRulesFileThatCannotBeReadIsAnError() throws {
        let lab = try labCopy("foobar-hardened")
        defer { cleanUp(lab) }
        let rules = lab.appendingPathComponent("web-01/ufw.rules")
        try FileManager.default.removeItem(at: rules)
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: false)
        #expect(loadErrors(lab).map(\.description) == ["web-01/ufw.rules: cannot read: it is a folder, not a file"])
        try FileManager.default.removeItem(at: rules)
        try FileManager.default.createSymbolicLink(atPath: rules.path, withDestinationPath: "/nonexistent/ufw.rules")
        #expect(loadErrors(lab).map(\.description) == ["web-01/ufw.rules: cannot read: it is a link to a file that does not exist"])
    }

    /// gunicorn.conf.py is Python: UTF-8 everywhere, comments too, unless a PEP 263 line declares latin-1.
    @Test func gunicornConfReadsAsPythonDoes() throws {
        let lab = try labCopy()
        defer { cleanUp(lab) }
        let file = "web-01/gunicorn.conf.py"
        let url = lab.appendingPathComponent(file)
        let original = try String(contentsOf: url, encoding: .utf8)
        try Data(Array("# caf".utf8) + HostileFiles.latin1E + Array(("\n" + original).utf8)).write(to: url)
        let error = try #require(loadErrors(lab).first)
        #expect(error.description == "web-01/gunicorn.conf.py:1: SyntaxError: Non-UTF-8 code starting with '\\xe9', but no encoding "
            + "declared; see https://peps.python.org/pep-0263/ (save the file as UTF-8)")
        try Data(Array("# -*- coding: latin-1 -*-\n# caf".utf8) + HostileFiles.latin1E + Array(("\n" + original).utf8)).write(to: url)
        #expect(try LabDefinition.load(directory: lab.path).gunicorn["web-01"] != nil)
        // A byte order mark, as some editors write, is skipped as Python skips it.
        try Data([0xEF, 0xBB, 0xBF] + Array(original.utf8)).write(to: url)
        #expect(try LabDefinition.load(directory: lab.path).gunicorn["web-01"] != nil)
    }

    @Test(.enabled(if: RealTool.python3 != nil, "python3 is not installed"))
    func pythonRefusesTheSameGunicornConf() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(Array("# caf".utf8) + HostileFiles.latin1E + Array("\nworkers = 2\n".utf8)).write(to: folder.appendingPathComponent("g.py"))
        let result = try await RealTool.run(RealTool.python3!, ["g.py"], in: folder)
        #expect(result.status != 0 && result.output.contains("SyntaxError: Non-UTF-8 code starting with '\\xe9'"), "\(result.output)")
    }

    /// Side by side: where nginx -t and haproxy -c accept a Latin-1 comment, stacklab does too; haproxy refuses the
    /// byte in a backend name, and so does stacklab.
    @Test(.enabled(if: RealTool.haproxy != nil && RealTool.nginx != nil, "haproxy and nginx are needed"))
    func theRealToolsAgreeOnALatin1Comment() async throws {
        let lab = try labCopy()
        defer { cleanUp(lab) }
        try insert(Array(" caf".utf8) + HostileFiles.latin1E, after: "# web-01", in: "web-01/nginx.conf", of: lab)
        try insert(Array("# caf".utf8) + HostileFiles.latin1E + Array("\n".utf8), after: "global\n", in: "lb-01/haproxy.cfg", of: lab)
        _ = try LabDefinition.load(directory: lab.path)
        let nginx = try await RealTool.nginxTest(serverFolder: lab.appendingPathComponent("web-01"))
        #expect(nginx.status == 0, "nginx -t said:\n\(nginx.output)")
        let haproxy = try await RealTool.haproxyCheck("lb-01/haproxy.cfg", in: lab)
        #expect(haproxy.status == 0, "haproxy -c said:\n\(haproxy.output)")

        try insert(HostileFiles.latin1E, after: "\nbackend we", in: "lb-01/haproxy.cfg", of: lab)
        let refused = try await RealTool.haproxyCheck("lb-01/haproxy.cfg", in: lab)
        #expect(refused.status != 0 && refused.output.contains("is not permitted in 'backend' name"), "\(refused.output)")
        #expect(loadErrors(lab).contains { $0.file == "lb-01/haproxy.cfg" && $0.reason.contains("byte 0xE9") })
    }

    @Test func decodeKeepsEveryByteThatIsNotUTF8() {
        let text = LabFileText.decode(Array("a é ".utf8) + [0xE9, 0xC3, 0x41, 0xFF])
        #expect(ConfigText.strayByte(in: text) == 0xE9)
        #expect(ConfigText.showingBytes(text) == "a é \\xE9\\xC3A\\xFF")
        #expect(ConfigText.strayByte(in: "a é") == nil)
    }

    // MARK: nesting

    /// 50,000 nested blocks (750 KB) once overflowed the stack; now the first block past the bound is the error.
    @Test func fiftyThousandNestedBlocksInNginxConfAreAnErrorWithTheLine() throws {
        let lab = try labCopy()
        defer { cleanUp(lab) }
        let url = lab.appendingPathComponent("web-01/nginx.conf")
        let original = try String(contentsOf: url, encoding: .utf8)
        let deep = HostileFiles.nestedNginx(original, levels: 50_000)
        try deep.write(to: url, atomically: true, encoding: .utf8)
        let errors = loadErrors(lab)
        // http and server are two levels: the 99th nested location is the 101st block.
        let line = HostileFiles.firstNestedLine(original) + ConfigText.maximumNesting - 2
        #expect(errors.map(\.description) == ["web-01/nginx.conf:\(line): \"location\": blocks { } nested more than 100 deep: "
            + "stacklab reads at most 100 levels"])
    }

    @Test func nestingUpToTheBoundReachesTheDirectiveChecks() throws {
        let text = "events {}\nhttp {\n" + String(repeating: "a {\n", count: 98) + String(repeating: "}\n", count: 98) + "}\n"
        let error = configError { _ = try NginxConfigParser.parse(text, file: "nginx.conf") }
        #expect(error?.line == 3 && error?.directive == "a", "\(String(describing: error))")
    }

    /// keepalived.conf has no nesting of its own beyond its fixed blocks: braces past them are an error at once.
    @Test func deepBracesInKeepalivedConfAreAnError() {
        let text = "vrrp_instance VI_1 {\n" + String(repeating: "{\n", count: 50_000) + String(repeating: "}\n", count: 50_001)
        let error = configError { _ = try KeepalivedConfigParser.parse(text, file: "lb-01/keepalived.conf") }
        #expect(error?.line == 2, "\(String(describing: error))")
    }

    @Test func deepBracketsInGunicornConfAreReadOnceNotQuadratically() {
        let text = "raw_env = " + String(repeating: "[\n", count: 200_000)
        let started = Date()
        let error = configError { _ = try GunicornConfigParser.parse(text, file: "web-01/gunicorn.conf.py") }
        #expect(error?.line == 1)
        #expect(Date().timeIntervalSince(started) < 20)
    }

    // MARK: nginx's buffer

    /// nginx reads its file through a 4096-byte buffer: a longer word or comment is `too long parameter`.
    @Test(.enabled(if: RealTool.nginx != nil, "nginx is not installed"), arguments: [
        ("# " + String(repeating: "x", count: 5_000), "too long parameter \"# xxxxxxxx...\" started"),
        ("server_name " + String(repeating: "x", count: 5_000) + ";", "too long parameter \"xxxxxxxxxx...\" started"),
        ("server_name \"" + String(repeating: "x", count: 5_000) + "\";", "too long parameter, probably missing terminating \"\"\" character"),
    ])
    func aWordLongerThanNginxsBufferIsNginxsError(line: String, reason: String) async throws {
        let lab = try labCopy()
        defer { cleanUp(lab) }
        let url = lab.appendingPathComponent("web-01/nginx.conf")
        let original = try String(contentsOf: url, encoding: .utf8)
        try original.replacingOccurrences(of: "server_name www.foobar.com;", with: line).write(to: url, atomically: true, encoding: .utf8)
        let error = try #require(loadErrors(lab).first)
        #expect(error.reason == reason, "\(error)")
        let nginx = try await RealTool.nginxTest(serverFolder: lab.appendingPathComponent("web-01"))
        let log = (try? String(contentsOf: lab.appendingPathComponent("web-01/logs/error.log"), encoding: .utf8)) ?? ""
        #expect(nginx.status != 0 && (nginx.output + log).contains(reason.replacingOccurrences(of: "# xxxxxxxx", with: "# xxxxxxxx")),
                "nginx -t said:\n\(nginx.output)\(log)")
    }

    @Test func aLongWordIsNamedByItsStart() {
        let error = ConfigError(file: "lb-01/haproxy.cfg", line: 3, directive: String(repeating: "A", count: 70_000), reason: "unknown keyword")
        #expect(error.description.count < 120)
    }

    // MARK: HAProxy without a listener

    @Test(.enabled(if: RealTool.haproxy != nil, "haproxy is not installed"))
    func anEmptyHAProxyCfgIsRefusedAsHAProxyDoes() async throws {
        let lab = try labCopy()
        defer { cleanUp(lab) }
        try Data().write(to: lab.appendingPathComponent("lb-01/haproxy.cfg"))
        let errors = loadErrors(lab)
        #expect(errors.map(\.description) == ["lb-01/haproxy.cfg: Configuration file has no error but will not start (no listener): "
            + "add a frontend with a bind line, e.g. bind 127.0.1.1:8080"])
        let real = try await RealTool.haproxyCheck("lb-01/haproxy.cfg", in: lab)
        #expect(real.status != 0 && real.output.contains("Configuration file has no error but will not start (no listener)"), "\(real.output)")
    }
}
