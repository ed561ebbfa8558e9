import Foundation
import StackLabStore
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("The foobar app on the replicated store", .runsALab)
struct FoobarAppStoreTests {
    private func startBuiltIn() async throws -> (Lab, String) {
        let root = makeLabFolder("foobar-store")
        let folder = root + "/lab"
        try LabDefinition.writeBuiltIn(named: "foobar", to: folder)
        let lab = try await Lab.start(try LabDefinition.load(directory: folder), options: LabOptions(portOffset: TestPorts.offset()))
        return (lab, root)
    }

    private func store(_ lab: Lab, _ server: String) throws -> MySQLStore {
        try #require((lab.process(server, .mysql) as? StoreProcess)?.store)
    }

    @Test func postLandsOnThePrimaryAndIsReadFromTheReplica() async throws {
        let (lab, root) = try await startBuiltIn()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let created = try await lab.get("/api/posts", method: "POST", body: #"{"author": "bob", "body": "hello from a test"}"#,
                                        headers: [("Content-Type", "application/json")])
        #expect(created.status == 201, "\(created.body)")
        let primaryRows = try await store(lab, "web-01").execute("SELECT author, body FROM foobar.posts WHERE author = 'bob'").rows
        #expect(primaryRows.first?[1] == "hello from a test")
        // Replication is asynchronous: the replica has it a moment later.
        try await waitUntil("the post on the replica") {
            (try? await store(lab, "web-02").execute("SELECT COUNT(*) FROM foobar.posts WHERE author = 'bob'").rows.first?.first) == "1"
        }
        let list = try await lab.get("/api/posts")
        #expect(list.status == 200)
        #expect(list.body.contains("hello from a test"))
        let hops = lab.traces.trace(list.traceID).map(\.process)
        #expect(hops.last == "web-02/mysql", "hops: \(hops)")
        await lab.shutdown()
    }

    @Test func withThePrimaryDownReadsWorkAndWritesFailWithA503FromTheApp() async throws {
        let (lab, root) = try await startBuiltIn()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // The replica starts empty and copies the users and the posts table from the primary: wait for them.
        try await waitUntil("the replica caught up") {
            (try? await store(lab, "web-02").execute("SELECT COUNT(*) FROM foobar.posts").rows.first?.first) == "1"
        }
        try await lab.apply(.crash, to: .process(server: "web-01", process: .mysql))
        let read = try await lab.get("/api/posts")
        let write = try await lab.get("/api/posts", method: "POST", body: #"{"author": "bob", "body": "lost?"}"#,
                                      headers: [("Content-Type", "application/json")])
        await lab.shutdown()
        #expect(read.status == 200, "\(read.body)")
        #expect(write.status == 503)
        #expect(write.body.contains("database unavailable"))
        #expect(write.body.contains("primary"))
    }
}
