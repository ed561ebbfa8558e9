import Foundation
import Testing
@testable import StackLab

@Suite struct LabFilesTests {
    /// The built-in lab copied to a temporary folder, to be broken by a test; removed afterwards by `cleanUp`.
    func labCopy() throws -> URL {
        let folder = try temporaryFolder().appendingPathComponent("lab")
        try LabDefinition.writeBuiltIn(named: "foobar", to: folder.path)
        return folder
    }

    func cleanUp(_ folder: URL) { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }

    func edit(_ folder: URL, _ file: String, _ change: (String) -> String) throws {
        let url = folder.appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        let changed = change(text)
        #expect(changed != text, "the edit of \(file) changed nothing")
        try changed.write(to: url, atomically: true, encoding: .utf8)
    }

    func loadError(_ folder: URL, sourceLocation: SourceLocation = #_sourceLocation) -> LabLoadError? {
        do {
            _ = try LabDefinition.load(directory: folder.path)
            Issue.record("the lab loaded without error", sourceLocation: sourceLocation)
        } catch let error as LabLoadError {
            return error
        } catch {
            Issue.record("expected a LabLoadError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func builtInLabLoadsWithNoError() throws {
        let lab = try LabDefinition.load(directory: try builtInLabURL().path)
        #expect(lab.topology.servers.map(\.name) == ["lb-01", "web-01", "web-02"])
        #expect(lab.haproxy.keys.sorted() == ["lb-01"])
        #expect(lab.nginx.keys.sorted() == ["web-01", "web-02"])
        #expect(lab.gunicorn.keys.sorted() == ["web-01", "web-02"])
        #expect(lab.mysql.keys.sorted() == ["web-01", "web-02"])
        #expect(lab.mysqlInitStatements["web-01"]?.count == 7)
        #expect(lab.mysqlInitStatements["web-02"]?.last == "START REPLICA")
        #expect(lab.warnings == [])
        #expect(lab.directory.hasPrefix("/"))
    }

    @Test func loadCollectsErrorsFromSeveralFiles() throws {
        let folder = try labCopy()
        defer { cleanUp(folder) }
        try edit(folder, "web-01/nginx.conf") { $0.replacingOccurrences(of: "proxy_pass http://app;", with: "proxy_pas http://app;") }
        try edit(folder, "web-02/gunicorn.conf.py") { $0.replacingOccurrences(of: "workers = 4", with: "wokers = 4") }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("web-02/my.cnf"))
        let error = try #require(loadError(folder))
        #expect(error.errors.map(\.file) == ["web-01/nginx.conf", "web-02/gunicorn.conf.py", "web-02/my.cnf"])
        #expect(error.errors[0].line == 26)
        #expect(error.errors[0].reason == "unknown directive — did you mean \"proxy_pass\"?")
        #expect(error.errors[1].reason == "unknown setting — did you mean \"workers\"?")
        #expect(error.errors[2].reason.hasPrefix("missing: web-02 runs mysql (lab.conf line 8)"))
        #expect(error.description.split(separator: "\n").count == 3)
        #expect(error.description.hasPrefix("web-01/nginx.conf:26: \"proxy_pas\": unknown directive"))
    }

    @Test func missingLabConfSaysWhatItMustContain() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = try #require(loadError(folder))
        #expect(error.errors.count == 1)
        #expect(error.errors[0].file == "lab.conf")
        #expect(error.errors[0].reason.contains("\"server NAME ADDRESS PROCESS...\""))
    }

    @Test func serviceBoundToAnotherServersAddressIsAnErrorNamingBoth() throws {
        let folder = try labCopy()
        defer { cleanUp(folder) }
        try edit(folder, "web-02/gunicorn.conf.py") { $0.replacingOccurrences(of: "bind = \"127.0.1.12:8000\"", with: "bind = \"127.0.1.11:8000\"") }
        let error = try #require(loadError(folder))
        #expect(error.errors.count == 1)
        #expect(error.errors.first?.file == "web-02/gunicorn.conf.py")
        #expect(error.errors.first?.line == 3)
        #expect(error.errors.first?.reason == "127.0.1.11 is web-01's address, but this file is web-02's: use 127.0.1.12 (from lab.conf)")
    }

    @Test func listeningOnAllAddressesIsAnError() throws {
        let folder = try labCopy()
        defer { cleanUp(folder) }
        try edit(folder, "web-01/my.cnf") { $0.replacingOccurrences(of: "bind-address  = 127.0.1.11", with: "bind-address  = 0.0.0.0") }
        let error = try #require(loadError(folder))
        #expect(error.errors.first?.file == "web-01/my.cnf")
        #expect(error.errors.first?.line == 4)
        #expect(error.errors.first?.reason.contains("loopback only") == true)
    }

    @Test func twoProcessesOnOnePortOfAServerIsAnError() throws {
        let folder = try labCopy()
        defer { cleanUp(folder) }
        try edit(folder, "web-01/gunicorn.conf.py") { $0.replacingOccurrences(of: "127.0.1.11:8000", with: "127.0.1.11:8080") }
        let error = try #require(loadError(folder))
        #expect(error.errors.first?.file == "web-01/gunicorn.conf.py")
        #expect(error.errors.first?.reason.hasPrefix("port 8080 on web-01 is already taken by nginx (web-01/nginx.conf:17)") == true)
    }

    @Test func balancerServerThatNothingListensOnIsAWarning() throws {
        let folder = try labCopy()
        defer { cleanUp(folder) }
        try edit(folder, "lb-01/haproxy.cfg") { $0.replacingOccurrences(of: "127.0.1.12:8080", with: "127.0.1.12:9090") }
        let lab = try LabDefinition.load(directory: folder.path)
        #expect(lab.warnings == ["lb-01/haproxy.cfg:27: server web/web-02: nothing on web-02 listens on port 9090 (127.0.1.12:9090)"])
    }

    @Test func haproxyWarningsReachTheLabsWarnings() throws {
        let folder = try labCopy()
        defer { cleanUp(folder) }
        try edit(folder, "lb-01/haproxy.cfg") { $0.replacingOccurrences(of: "    timeout client 30s\n", with: "") }
        let lab = try LabDefinition.load(directory: folder.path)
        #expect(lab.warnings.count == 1)
        #expect(lab.warnings.first?.hasPrefix("lb-01/haproxy.cfg: missing timeouts for frontend 'www'.") == true)
    }

    @Test func missingInitFileIsAnError() throws {
        let folder = try labCopy()
        defer { cleanUp(folder) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("web-01/init.sql"))
        let error = try #require(loadError(folder))
        #expect(error.errors.map(\.file) == ["web-01/init.sql"])
    }

    @Test func writeBuiltInCopiesTheLabAndRefusesANonEmptyFolder() throws {
        let folder = try labCopy()
        defer { cleanUp(folder) }
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("web-02/www/static/hello.txt").path))
        #expect(throws: LabWriteError.self) { try LabDefinition.writeBuiltIn(named: "foobar", to: folder.path) }
        #expect(throws: LabWriteError.self) { try LabDefinition.writeBuiltIn(named: "nope", to: folder.path + "-other") }
        // An existing empty folder is fine.
        let empty = folder.deletingLastPathComponent().appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try LabDefinition.writeBuiltIn(named: "foobar", to: empty.path)
        #expect(FileManager.default.fileExists(atPath: empty.appendingPathComponent("lab.conf").path))
    }

    @Test func initFileSplitsOnSemicolonsOutsideQuotesAndComments() {
        let statements = MySQLInitFile.statements(in: """
            -- a comment; with a semicolon
            INSERT INTO t VALUES ('a;b', "c;d", 'it''s');  # another; comment
            /* block; comment */ SELECT 1;
            SELECT `odd;name` FROM t
            """)
        #expect(statements == ["INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s')", "SELECT 1", "SELECT `odd;name` FROM t"])
    }
}
