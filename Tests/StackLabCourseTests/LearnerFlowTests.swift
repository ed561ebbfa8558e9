import Foundation
import StackLab
import Testing
@testable import StackLabCourse
@testable import StackLabShell
import StackLabTestSupport

/// A learner in the shell: start a lesson, type, check, hint, next and back; steps finish by themselves.
@Suite(.serialized) @MainActor struct LearnerFlowTests {
    static let twoSteps = """
        # Two steps

        A small lesson for tests.

        ## Step 1: Ask the site

        ```stacklab
        curl -i /
        ```

        > **Check:** output contains "X-Served-By: web-0"

        > **Hint:** curl -i shows the headers.

        > **Hint:** Look for X-Served-By.

        ## Step 2: Crash an app server

        ```stacklab
        kill web-02/gunicorn
        ```

        > **Check:** web-02/gunicorn is crashed
        """

    func lessonsFolder() throws -> String {
        let folder = temporaryFolder()
        try Self.twoSteps.write(toFile: folder + "/01-two-steps.md", atomically: true, encoding: .utf8)
        return folder
    }

    /// Through the shell's own loop, with the course's editor around a scripted one: the lesson moves on by itself.
    @Test func stepsFinishByThemselvesAfterTheLearnersCommands() async throws {
        let folder = try lessonsFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withCourseShell(lessonsFolder: folder) { shell, course, output in
            let editor = ScriptedLineEditor(["lesson 1", "check", "hint", "hint", "hint", "curl -i /", "status", "kill web-02/gunicorn", "lessons"])
            let status = await shell.run(editor: CourseLineEditor(editor, shell: shell))
            let text = output.text
            #expect(status == 0, "\(text)")
            #expect(text.contains("Lesson 1: Two steps"))
            #expect(text.contains("(the lab was started fresh for this lesson)"))
            #expect(text.contains("Step 1 of 2: Ask the site"))
            #expect(text.contains("    curl -i /"), "the step shows what to type")
            #expect(text.contains("✗ output contains \"X-Served-By: web-0\" — nothing printed"), "check before doing anything says why not")
            #expect(text.contains("Hint: curl -i shows the headers."))
            #expect(text.contains("Hint: Look for X-Served-By."))
            #expect(text.contains("No more hints. The commands of this step are:"))
            #expect(text.contains("Step 1 done."))
            #expect(text.contains("Step 2 of 2: Crash an app server"))
            #expect(text.contains("Lesson 1 complete: Two steps."))
            #expect(text.contains(" ✓  1  two-steps"), "the list marks it done:\n\(text)")
            // `status` ran in step 2 before the crash: it did not finish step 2 by itself.
            let statusAt = try #require(text.range(of: "SERVER  PROCESS"))
            let doneAt = try #require(text.range(of: "Step 2 done."))
            #expect(statusAt.lowerBound < doneAt.lowerBound)
            #expect(course.lesson == nil)
            #expect(course.progress.lessons["two-steps"]?.finished == true)
        }
    }

    /// The course's own words never count as the learner's output: the step text mentions X-Served-By, yet `check`
    /// right after `next` does not pass.
    @Test func nextBackAndTheCoursesOwnWordsDoNotCount() async throws {
        let folder = try lessonsFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withCourseShell(lessonsFolder: folder) { shell, course, output in
            #expect(await shell.execute("lesson two-steps"))
            #expect(await shell.execute("hint"))
            #expect(await shell.execute("next"))
            #expect(course.currentStep?.number == 2)
            #expect(await shell.execute("back"))
            #expect(course.currentStep?.number == 1)
            output.clear()
            #expect(await shell.execute("check"))
            #expect(output.text.contains("not done yet"), "\(output.text)")
            #expect(course.currentStep?.number == 1)
            let back = await shell.execute("back")
            #expect(!back)
            #expect(output.text.contains("this is the first step"))
            let unknown = await shell.execute("lesson 7")
            #expect(!unknown)
            #expect(output.text.contains("there is no lesson '7' — lessons: 1 two-steps"))
        }
    }

    @Test func progressSurvivesANewShell() async throws {
        let folder = try lessonsFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let progressFile = folder + "/progress.json"
        try await withCourseShell(lessonsFolder: folder) { shell, course, output in
            course.useProgress(ProgressStore(path: progressFile))
            let started = await shell.execute("lesson 1")
            #expect(started, "\(output.text)")
            #expect(await shell.execute("curl -i /"))
            let passed = try await course.check()
            #expect(passed)
            #expect(course.currentStep?.number == 2)
        }
        try await withCourseShell(lessonsFolder: folder) { shell, course, output in
            course.useProgress(ProgressStore(path: progressFile))
            #expect(await shell.execute("lessons"))
            #expect(output.text.contains(" …  1  two-steps"), "\(output.text)")
            #expect(course.progress.lessons["two-steps"]?.done == [1])
        }
    }

    /// Real health checks: a learner kills web-01 and the step finishes once lb-01 has seen it DOWN — checked after a
    /// later command, as in the shell.
    @Test func aLabCheckPassesWhenTheLabGetsThere() async throws {
        try await withCourseShell { shell, course, output in
            #expect(await shell.execute("lesson health-checks"))
            course.noteCommand("kill web-01/nginx")
            #expect(await shell.execute("kill web-01/nginx"))
            try await waitUntil("lb-01 to mark web-01 DOWN") {
                shell.lab.balancers[0].serverStatuses.first { $0.name == "web-01" }?.status == "DOWN"
            }
            course.noteCommand("status")
            #expect(await shell.execute("status"))
            await course.beforePrompt()
            #expect(output.text.contains("✓ lb-01 sees web-01 DOWN"))
            #expect(course.currentStep?.number == 2)
        }
    }
}

/// An instructor stops a demo at a pause and resumes it later with `demo`.
@Suite(.serialized) @MainActor struct DemoStopResumeTests {
    @Test func qAtAPauseStopsAndDemoResumesAtTheNextStep() async throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try LearnerFlowTests.twoSteps.write(toFile: folder + "/01-two-steps.md", atomically: true, encoding: .utf8)
        try await withCourseShell(interactive: true, lessonsFolder: folder) { shell, course, output in
            var pauses = 0
            course.waitForEnter = { pauses += 1; return "q" }
            #expect(await shell.execute("demo 1"))
            #expect(pauses == 1)
            #expect(output.text.contains("— Enter: next step · q: stop —"))
            #expect(output.text.contains("demo stopped before step 2 — 'demo' resumes"))
            #expect(!output.text.contains("Step 2 of 2"))
            #expect(shell.lab.process("web-02", .gunicorn)?.state == .running)
            output.clear()
            course.waitForEnter = { "" }
            #expect(await shell.execute("demo"))
            #expect(output.text.contains("Step 2 of 2: Crash an app server"))
            #expect(output.text.contains("foobar ● kill web-02/gunicorn"), "the command is typed out after the prompt")
            #expect(output.text.contains("✓ web-02/gunicorn is crashed"))
            #expect(output.text.contains("Lesson 1 complete"))
            let again = await shell.execute("demo")
            #expect(!again)
            #expect(output.text.contains("no demo to resume"))
        }
    }
}
