import Foundation
import StackLab
import Testing
import StackLabTestSupport
@testable import StackLabCourse
@testable import StackLabShell

/// Plays every lesson of the repository as a demo (`demo N --auto 0`) against a live lab and asserts that every step's
/// checks pass — so the lessons cannot rot as the code changes.
@Suite(.serialized, .runsALab) @MainActor struct LessonDemoTests {
    nonisolated static let lessons = LessonLibrary.load(folder: repositoryRoot + "/lessons").lessons.map(\.number)

    @Test(arguments: lessons)
    func everyStepOfTheLessonPassesInDemoMode(number: Int) async throws {
        try await withCourseShell { shell, course, output in
            let ok = await shell.execute("demo \(number) --auto 0")
            let results = course.lastDemo
            #expect(!results.isEmpty)
            for result in results {
                for outcome in result.outcomes where !outcome.passed {
                    Issue.record("lesson \(number) step \(result.step): \(outcome.why)\n\(output.text.suffix(3000))")
                }
            }
            #expect(ok == results.allSatisfy(\.passed), "the demo verb fails exactly when a step fails")
            #expect(output.text.contains("Lesson \(number) complete"))
        }
    }

    /// `apply` runs the lesson's version of the lab from the state folder, and nothing of it is left once the shell
    /// ends (no stray folder in /tmp).
    @Test func anAppliedLabRunsUnderTheStateFolderAndIsGoneWhenTheShellEnds() async throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try """
            # Apply

            One file changed.

            ## Step 1: Put it in place

            ```file web-01/www/hello.txt
            hello
            ```

            ```stacklab
            apply
            ```

            > **Check:** web-01/nginx is running
            """.write(toFile: folder + "/01-apply.md", atomically: true, encoding: .utf8)
        var applied = ""
        try await withCourseShell(lessonsFolder: folder) { shell, course, output in
            let ok = await shell.execute("demo 1 --auto 0")
            #expect(ok, "\(output.text)")
            applied = shell.session.source.directory
            #expect(applied.hasPrefix(StatePaths.lessonRun("apply") + "-"), "\(applied)")
            #expect(FileManager.default.fileExists(atPath: applied + "/web-01/www/hello.txt"))
        }
        #expect(!applied.isEmpty && !FileManager.default.fileExists(atPath: applied), "\(applied)")
    }

    /// The other side: a lesson whose check cannot pass makes the demo fail (so the test above can fail).
    @Test func aDemoWhoseCheckCannotPassFails() async throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try """
            # Impossible

            Nothing breaks web-02 here.

            ## Step 1: Look

            ```stacklab
            status
            ```

            > **Check:** web-02/nginx is crashed
            """.write(toFile: folder + "/01-impossible.md", atomically: true, encoding: .utf8)
        try await withCourseShell(lessonsFolder: folder) { shell, course, output in
            course.demoCheckTimeout = 0.5
            let ok = await shell.execute("demo 1 --auto 0")
            #expect(!ok)
            #expect(course.lastDemo.count == 1 && !course.lastDemo[0].passed)
            #expect(output.text.contains("✗ web-02/nginx is crashed — web-02/nginx is running, not crashed"))
            #expect(output.text.contains("the demo's checks did not pass at step 1"))
        }
    }
}
