import Foundation
import Testing
@testable import StackLabCourse

@Suite struct LessonParserTests {
    static let good = """
        # Health checks

        Watch a server go DOWN.

        ## Step 1: Kill it

        Some prose.

        ```stacklab
        # a comment
        kill web-01/nginx

        status
        ```

        > **Check:** lb-01 sees web-01 DOWN

        > **Check:** *web-01/nginx is crashed*

        > **Hint:** Health checks run every 2 s;
        > three failures mark it DOWN.

        ## Step 2: Weights

        ```file lb-01/haproxy.cfg
        backend web
            server web-01 127.0.1.11:8080 weight 3
        ```

        ```text
        ## Step 9: not a step, inside a fence
        ```

        ```stacklab
        apply
        load
        ```

        > **Predict:** Will every request be answered?
        > **Answers:** yes · no · some
        > **Observe:** whether the requests succeeded

        > **Ends:** after `apply`

        > **Check:** at least 20 requests succeeded since the step began

        ## What you learned

        Not part of a step: `> **Check:**` is not allowed here.
        """

    @Test func readsTitleGoalStepsCommandsChecksHintsAndFiles() throws {
        let lesson = try LessonParser.parse(Self.good, file: "lessons/03-health-checks.md")
        #expect(lesson.number == 3)
        #expect(lesson.name == "health-checks")
        #expect(lesson.title == "Health checks")
        #expect(lesson.goal == "Watch a server go DOWN.")
        #expect(lesson.steps.count == 2)
        let first = lesson.steps[0]
        #expect(first.title == "Kill it")
        #expect(first.commands == ["kill web-01/nginx", "status"])
        #expect(first.checks.map(\.kind) == [.balancerSees(balancer: "lb-01", server: "web-01", status: "DOWN"),
                                             .processState(target: "web-01/nginx", state: "crashed", negated: false)])
        #expect(first.hints == ["Health checks run every 2 s; three failures mark it DOWN."])
        #expect(first.prose.contains("Some prose."))
        let second = lesson.steps[1]
        #expect(second.commands == ["apply", "load"])
        #expect(second.files == [LessonFile(path: "lb-01/haproxy.cfg", text: "backend web\n    server web-01 127.0.1.11:8080 weight 3\n")])
        #expect(second.prediction == Prediction(question: "Will every request be answered?", answers: ["yes", "no", "some"],
                                                observation: .requestsSucceeded))
        #expect(second.endingCommand == 0, "ends after apply")
        #expect(first.endingCommand == 1 && first.prediction == nil && first.waitFor.isEmpty)
        #expect(second.checks.map(\.kind) == [.requests(atLeast: 20, succeeded: true)])
    }

    /// Each broken file names the line to fix.
    @Test(arguments: [
        ("Some text first\n# Title\n", 1, "a lesson starts with its title"),
        ("# T\n## Step 1: a\n```stacklab\nstatus\n```\n> **Check:** web-01 is crashed\n## Recap\n> **Check:** web-01 is crashed\n", 8, "belongs in a step"),
        ("## Step 1: x\n", 1, "a lesson starts with its title"),
        ("# T\n", 1, "the lesson has no steps"),
        ("# T\n## Step 1: a\n```stacklab\nstatus\n```\n> **Check:** web-01 is crashed\n## Step 3: c\n", 7, "this is step 3, but the step before it was 1"),
        ("# T\n## Step 1: a\n```stacklab\nstatus\n", 3, "never closed"),
        ("# T\n## Step 1: a\n```stacklab\n# only a comment\n```\n", 3, "has no commands"),
        ("# T\n## Step 1: a\n```stacklab\nstatus\n```\n", 2, "step 1 has no check"),
        ("# T\n## Step 1: a\n```stacklab\nstatus\n```\n> **Check:** the site feels fast\n", 6, "cannot read this check: 'the site feels fast'"),
        ("# T\n## Step 1: a\n```stacklab\nstatus\n```\n> **Chek:** web-01 is crashed\n", 6, "unknown '**Chek:**'"),
        ("# T\n## Step one\n", 2, "a step heading is '## Step N: what it does'"),
        ("# T\n## Step 1: a\n```stacklab\nstatus\n```\n> **Check:** web-01 is crashed\n> **Needs:** `tap --help`\n", 7, "unknown '**Needs:**'"),
        ("# T\n## Step 1: a\n> **Predict:** Up?\n```stacklab\nstatus\n```\n> **Check:** web-01 is crashed\n", 3, "add '> **Answers:**"),
        ("# T\n## Step 1: a\n> **Predict:** Up?\n> **Answers:** yes · no\n```stacklab\nstatus\n```\n> **Check:** web-01 is crashed\n", 3, "add '> **Observe:**"),
        ("# T\n## Step 1: a\n> **Predict:** Up?\n> **Answers:** yes · no\n> **Observe:** the vibe\n```stacklab\nstatus\n```\n> **Check:** web-01 is crashed\n", 5, "cannot read what to observe"),
        ("# T\n## Step 1: a\n> **Predict:** Fails?\n> **Answers:** yes · maybe\n> **Observe:** the number of failed requests\n```stacklab\nstatus\n```\n> **Check:** web-01 is crashed\n", 4, "every answer is a number"),
        ("# T\n## Step 1: a\n> **Answers:** yes · no\n```stacklab\nstatus\n```\n> **Check:** web-01 is crashed\n", 3, "go with a **Predict:**"),
        ("# T\n## Step 1: a\n```stacklab\nstatus\n```\n> **Ends:** after `diagram`\n> **Check:** web-01 is crashed\n", 6, "not one of step 1's commands"),
        ("# T\n## Step 1: a\n```stacklab\nstatus\n```\n> **Wait for:** at least 2 requests succeeded\n> **Check:** web-01 is crashed\n", 6, "a wait is for the lab"),
        ("# T\n```stacklab\nstatus\n```\n", 2, "belongs in a step"),
        ("# T\n## Step 1: a\n```file /etc/passwd\nx\n```\n", 3, "names a file inside the lab"),
    ] as [(String, Int, String)])
    func badFileIsAnErrorWithFileAndLine(text: String, line: Int, reason: String) {
        do {
            _ = try LessonParser.parse(text, file: "lessons/99-broken.md")
            Issue.record("parsed a broken lesson: \(text)")
        } catch {
            #expect(error.file == "lessons/99-broken.md")
            #expect(error.line == line, "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
            #expect(error.description.hasPrefix("lessons/99-broken.md:\(line): "))
        }
    }

    @Test func everyLessonOfTheRepositoryParsesAndIsNumberedInOrder() throws {
        let library = LessonLibrary.load(folder: repositoryRoot + "/lessons")
        #expect(library.problems.isEmpty, "\(library.problems)")
        #expect(library.lessons.map(\.number) == Array(1...9))
        for lesson in library.lessons {
            #expect(!lesson.goal.isEmpty, "\(lesson.file) has no goal")
            for step in lesson.steps where step.hints.isEmpty && step.checks.contains(where: { if case .outputContains = $0.kind { true } else { false } }) {
                Issue.record("\((lesson.file as NSString).lastPathComponent) step \(step.number) checks output but gives no hint")
            }
        }
    }

    /// Shipped lessons check what happened (the verbs' facts, the lab), never printed text; the fault lessons ask
    /// the learner to predict first.
    @Test func shippedLessonsCheckFactsAndAskToPredict() {
        let library = LessonLibrary.load(folder: repositoryRoot + "/lessons")
        for lesson in library.lessons {
            for step in lesson.steps {
                for check in step.checks {
                    switch check.kind {
                    case .outputContains, .commandShows:
                        Issue.record("lesson \(lesson.number) step \(step.number) checks printed text: \(check.text)")
                    default: break
                    }
                }
            }
        }
        for number in [3, 5, 6, 7, 9] {
            let asks = library.lessons.first { $0.number == number }?.steps.contains { $0.prediction != nil } ?? false
            #expect(asks, "lesson \(number) asks no question")
        }
    }

    /// The binary carries lessons/ (EmbedResources) and reads it from the folder it writes out: the same files exactly.
    @Test func builtInLessonsAreTheRepositoryLessons() throws {
        let repository = repositoryRoot + "/lessons"
        let bundled = try #require(LessonLibrary.builtInFolder)
        let names = try FileManager.default.contentsOfDirectory(atPath: repository).filter { $0.hasSuffix(".md") }.sorted()
        let bundledNames = try FileManager.default.contentsOfDirectory(atPath: bundled).filter { $0.hasSuffix(".md") }.sorted()
        #expect(names == bundledNames)
        for name in names {
            let a = try String(contentsOfFile: repository + "/" + name, encoding: .utf8)
            let b = try String(contentsOfFile: bundled + "/" + name, encoding: .utf8)
            #expect(a == b, "\(name) differs from its built-in copy")
        }
        #expect(LessonLibrary.builtIn().lessons.count == 9)
    }

    @Test func lessonsAreFoundByNumberNameOrUniquePrefix() {
        let library = LessonLibrary.load(folder: repositoryRoot + "/lessons")
        #expect(library.find("3")?.name == "health-checks")
        #expect(library.find("03")?.name == "health-checks")
        #expect(library.find("health-checks")?.number == 3)
        #expect(library.find("03-health-checks")?.number == 3)
        #expect(library.find("replication")?.number == 5)
        #expect(library.find("no-")  == nil, "ambiguous: no-https, no-firewall, no-monitoring")
        #expect(library.find("42") == nil)
    }
}
