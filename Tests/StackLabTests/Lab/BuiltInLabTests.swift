import Foundation
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("The built-in foobar lab, started from its files", .runsALab)
struct BuiltInLabTests {
    @Test func foobarLabServesThePageAndStaticFilesThroughLb01() async throws {
        let folder = makeLabFolder("foobar") + "/lab"
        defer { try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent) }
        try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
        let lab = try await Lab.start(try LabDefinition.load(directory: folder), options: LabOptions(portOffset: TestPorts.offset()))
        let page = try await lab.get("/")
        let file = try await lab.get("/static/hello.txt")
        let health = try await lab.get("/health")
        try await waitUntil("lb-01 sees both servers UP") { lab.balancers[0].serverStatuses.allSatisfy { $0.status == "UP" } }
        // Round robin starts at web-01, but a busy machine's slow first checks can move the page elsewhere: the log
        // read is that of the server that answered.
        let server = page.header("X-Served-By") ?? "web-01"
        let nginx = try #require(lab.process(server, .nginx) as? WebServer)
        let accessLines = nginx.accessLog.tail()
        await lab.shutdown()

        #expect(page.status == 200)
        #expect(page.body.contains("<h1>www.foobar.com</h1>"))
        #expect(page.header("Server") == "nginx/1.22.1")
        #expect(file.status == 200)
        #expect(file.body.hasPrefix("static from web-0"))
        #expect(health.status == 200)
        // nginx's combined log line for a request that came from lb-01, and on disk in the lab folder.
        #expect(accessLines.contains { $0.hasPrefix("127.0.1.1 - - [") && $0.contains("\"GET / HTTP/1.1\" 200 ") })
        let onDisk = try String(contentsOfFile: "\(folder)/\(server)/logs/access.log", encoding: .utf8)
        #expect(onDisk.contains("\"GET / HTTP/1.1\" 200 "))
    }

    @Test func aPortInUseIsAClearErrorThatSuggestsPortBase() async throws {
        let folder = makeLabFolder("foobar") + "/lab"
        defer { try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent) }
        try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
        let definition = try LabDefinition.load(directory: folder)
        let offset = TestPorts.offset()
        let first = try await Lab.start(definition, options: LabOptions(portOffset: offset))
        do {
            let second = try await Lab.start(definition, options: LabOptions(portOffset: offset))
            await second.shutdown()
            Issue.record("a second lab on the same ports started")
        } catch {
            #expect("\(error)".contains("is already in use"))
            #expect("\(error)".contains("--port-base"))
        }
        await first.shutdown()
    }
}
