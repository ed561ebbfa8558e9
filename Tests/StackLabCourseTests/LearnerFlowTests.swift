import Foundation
import StackLab
import Testing
@testable import StackLabCourse
@testable import StackLabShell
import StackLabTestSupport

/// A learner in the shell: start a lesson, type, check, hint, next and back; steps finish by themselves.
@Suite(.serialized, .runsALab) @MainActor struct LearnerFlowTests {
    static let twoSteps = """
        # Two steps

        A small lesson for tests.

        ## Step 1: Ask the site

        ```stacklab
        curl -i /
        ```

        > **Check:** output contains "x-served-by: web-0"

        > **Hint:** curl -i shows the headers.

        > **Hint:** Look for x-served-by.

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
            #expect(text.contains("✗ output contains \"x-served-by: web-0\" — nothing printed"), "check before doing anything says why not")
            #expect(text.contains("Hint: curl -i shows the headers."))
            #expect(text.contains("Hint: Look for x-served-by."))
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

    /// The course's own words never count as the learner's output: the step text mentions x-served-by, yet `check`
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

    /// Real health checks: a learner kills web-01 and types `status` at once; the step's check runs after `status`
    /// (not after the kill), waits while lb-01's checks fail, and the step finishes when lb-01 sees web-01 DOWN.
    @Test func aLabCheckIsTriedAgainWhileTheLabSettles() async throws {
        try await withCourseShell { shell, course, output in
            #expect(await shell.execute("lesson health-checks --restart"))
            course.noteCommand("kill web-01/nginx")
            #expect(await shell.execute("kill web-01/nginx"))
            await course.beforePrompt()
            #expect(course.currentStep?.number == 1, "the step ends after its last command, status")
            course.noteCommand("status")
            #expect(await shell.execute("status"))
            await course.beforePrompt()
            #expect(output.text.contains("✓ lb-01 sees web-01 DOWN"))
            #expect(!output.text.contains("lb-01 sees web-01 DOWN — lb-01 sees web-01 DOWN"), "a check line says it once")
            #expect(course.currentStep?.number == 2)
        }
    }

    static let threeSteps = """
        # Three steps

        A lesson that asks first.

        ## Step 1: Two requests

        ```stacklab
        curl -i /
        curl -i /
        ```

        > **Check:** requests were served by web-01 and web-02

        > **Hint:** Two requests, one to each.

        ## Step 2: Crash an app server

        > **Predict:** Will web-02's app still answer?
        > **Answers:** yes · no
        > **Observe:** whether the requests succeeded

        ```stacklab
        kill web-02/gunicorn
        curl http://127.0.1.12:8080/
        ```

        > **Check:** web-02/gunicorn is crashed

        ## Step 3: Look

        ```stacklab
        status
        ```

        > **Check:** you ran `status`
        """

    /// The first of two commands does not end the step; a question is answered at its own prompt, then graded on
    /// what happened and counted in progress.
    @Test func aStepWaitsForItsCommandsAndAQuestionIsGradedOnTheRun() async throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.threeSteps.write(toFile: folder + "/01-three-steps.md", atomically: true, encoding: .utf8)
        try await withCourseShell(lessonsFolder: folder) { shell, course, output in
            let editor = ScriptedLineEditor(["lesson 1", "curl -i /", "statsu", "curl -i /", "maybe", "no", "kill web-02/gunicorn",
                                             "curl http://127.0.1.12:8080/", "lessons"])
            let status = await shell.run(editor: CourseLineEditor(editor, shell: shell))
            let text = output.text
            #expect(status == 1, "statsu and the curl to a dead app fail")
            #expect(editor.prompts.current.contains("your prediction (yes · no) ▸ "), "\(editor.prompts.current)")
            let firstAnswer = try #require(text.range(of: "x-served-by: web-0"))
            let done = try #require(text.range(of: "Step 1 done."))
            let second = try #require(text.range(of: "x-served-by: web-0", range: firstAnswer.upperBound..<text.endIndex))
            #expect(second.lowerBound < done.lowerBound, "step 1 ended after its second request, not its first")
            #expect(text.contains("Predict first: Will web-02's app still answer?"))
            #expect(text.contains("Answer one of: yes · no"))
            #expect(text.contains("Your prediction: no."))
            #expect(text.contains("  you predicted  no"))
            #expect(text.contains("  what happened  no — 0 of 1 requests answered"), "\(text)")
            #expect(text.contains("✓ right"))
            #expect(course.progress.lessons["three-steps"]?.predictions == [.init(step: 2, answer: "no", observed: "no", right: true)])
            #expect(text.contains("at step 3 of 3 · 1 of 1 prediction right"), "\(text)")
        }
    }

    /// `lesson stop` leaves the lesson (hint no longer answers for it); `lesson N` picks up at the saved step on a lab
    /// brought there; `lesson N --restart` starts from the top.
    @Test func aLessonIsLeftResumedAndRestarted() async throws {
        try await withCourseShell { shell, course, output in
            #expect(await shell.execute("lesson health-checks"))
            #expect(await shell.execute("kill web-01/nginx"))
            #expect(await shell.execute("next"))
            #expect(await shell.execute("next"))
            #expect(course.currentStep?.number == 3)
            #expect(await shell.execute("lesson stop"))
            #expect(output.text.contains("Left lesson 3 at step 3 of 7 — 'lesson 3' picks up there"))
            #expect(course.lesson == nil)
            output.clear()
            _ = await shell.execute("hint")
            #expect(!output.text.contains("Hint:"), "the lesson is left: \(output.text)")
            #expect(await shell.execute("lessons"))
            #expect(output.text.contains("at step 3 of 7"), "\(output.text)")
            output.clear()
            #expect(await shell.execute("lesson 3"))
            #expect(course.currentStep?.number == 3)
            #expect(output.text.contains("(resuming at step 3 of 7 — 'lesson 3 --restart' starts over; the lab was started fresh and brought"
                                         + " to where this step begins: kill web-01/nginx)"), "\(output.text)")
            #expect(shell.lab.process("web-01", .nginx)?.state == .crashed, "step 1's kill was replayed")
            output.clear()
            #expect(await shell.execute("lesson 3 --restart"))
            #expect(course.currentStep?.number == 1)
            #expect(output.text.contains("(the lab was started fresh for this lesson)"))
            #expect(shell.lab.process("web-01", .nginx)?.state == .running)
            let stopRestart = await shell.execute("lesson stop --restart")
            #expect(!stopRestart)
            #expect(await shell.execute("lesson stop"))
            let again = await shell.execute("lesson stop")
            #expect(!again)
            #expect(output.text.contains("no lesson is running"))
        }
    }
}

/// An instructor stops a demo at a pause and resumes it later with `demo`.
@Suite(.serialized, .runsALab) @MainActor struct DemoStopResumeTests {
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
