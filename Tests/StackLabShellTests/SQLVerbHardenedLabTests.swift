import Foundation
import StackLab
import Testing
@testable import StackLabShell

/// The shell's `sql` is the mysql client's root on the server itself: it works in the hardened lab, whose root has
/// a password and is refused from anywhere else.
@Suite("sql in the hardened lab")
struct SQLVerbHardenedLabTests {
    @MainActor
    @Test func sqlRunsAsRootOnThePrimaryAndTheReplica() async throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try LabDefinition.writeBuiltIn(named: "foobar-hardened", to: folder)
        let session = try await startShellLab(folder)
        let output = CapturedOutput()
        let shell = Shell(session: session, output: output, style: .plain, interactive: false)
        let who = await output.of(shell, "sql SELECT CURRENT_USER()")
        let posts = await output.of(shell, "sql web-02 SELECT COUNT(*) AS posts FROM posts")
        await session.shutdown()
        #expect(who.ok && who.text.contains("root@localhost"), "\(who.text)")
        #expect(posts.ok && posts.text.contains("| posts |"), "\(posts.text)")
    }
}
