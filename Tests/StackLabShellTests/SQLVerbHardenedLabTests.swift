import Foundation
import StackLab
import Testing
import StackLabTestSupport
@testable import StackLabShell

/// The shell's `sql` is the mysql client's root on the server itself: it works in the hardened lab, whose root has
/// a password and is refused from anywhere else.
@Suite("sql in the hardened lab", .runsALab)
struct SQLVerbHardenedLabTests {
    @MainActor
    @Test func sqlRunsAsRootOnThePrimaryAndTheReplica() async throws {
        try await withHardenedShell { shell, output in
            let who = await output.of(shell, "sql SELECT CURRENT_USER()")
            let posts = await output.of(shell, "sql web-02 SELECT COUNT(*) AS posts FROM posts")
            #expect(who.ok && who.text.contains("root@localhost"), "\(who.text)")
            #expect(posts.ok && posts.text.contains("| posts |"), "\(posts.text)")
        }
    }
}
