import Foundation
import Testing
@testable import StackLabCourse

@Suite struct ProgressTests {
    let lesson = try! LessonParser.parse("""
        # T
        ## Step 1: a
        ```stacklab
        status
        ```
        > **Check:** web-01 is running
        ## Step 2: b
        ```stacklab
        status
        ```
        > **Check:** web-01 is running
        """, file: "02-two-steps.md")

    @Test func progressSurvivesARestart() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = ProgressStore(path: folder + "/deep/state/progress.json")
        #expect(store.load() == LearnerProgress(), "no file yet: fresh")
        var progress = store.load()
        #expect(progress.mark(for: lesson) == " ")
        progress.moved(lesson, to: 2)
        progress.stepDone(lesson, step: 1)
        #expect(progress.mark(for: lesson) == "…")
        try store.save(progress)
        var again = ProgressStore(path: store.path).load()
        #expect(again == progress)
        again.stepDone(lesson, step: 2)
        #expect(again.mark(for: lesson) == "✓")
        #expect(again.of(lesson).finished)
    }

    @Test func aDamagedFileStartsFresh() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "{ not json".write(toFile: folder + "/progress.json", atomically: true, encoding: .utf8)
        #expect(ProgressStore(path: folder + "/progress.json").load() == LearnerProgress())
    }

    @Test func theStandardPlaceIsTheStateFolder() {
        #expect(ProgressStore.standard(environment: ["XDG_STATE_HOME": "/x/state", "HOME": "/home/a"]).path == "/x/state/stacklab/progress.json")
        #expect(ProgressStore.standard(environment: ["HOME": "/home/a"]).path == "/home/a/.local/state/stacklab/progress.json")
    }
}

@Suite struct AsciicastTests {
    @Test func writesAHeaderLineThenTimedOutputEvents() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/demo.cast"
        let cast = try AsciicastRecorder(path: path, width: 90, height: 25, title: "Lesson 3", now: Date(timeIntervalSince1970: 1_700_000_000))
        cast.output("foobar ● ")
        cast.advance(seconds: 2)
        cast.output("status\nline \"two\"\n")
        cast.close()
        cast.output("after close is ignored")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        let header = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(header["version"] as? Int == 2)
        #expect(header["width"] as? Int == 90)
        #expect(header["height"] as? Int == 25)
        #expect(header["timestamp"] as? Int == 1_700_000_000)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [Any])
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [Any])
        #expect(first[1] as? String == "o")
        #expect(first[2] as? String == "foobar ● ")
        #expect(second[2] as? String == "status\r\nline \"two\"\r\n", "a terminal needs CR LF")
        let t1 = try #require(first[0] as? Double), t2 = try #require(second[0] as? Double)
        #expect(t2 - t1 >= 2, "advance moves the recording's clock")
    }
}

@Suite struct TranscriptTests {
    @Test func onlyTheLearnersOutputSinceTheStepBeganCounts() {
        let transcript = Transcript()
        transcript.record("before the step\n")
        transcript.markStepBegan()
        transcript.muted { transcript.record("the course speaking: ERROR 1290\n") }
        transcript.record("ERROR 1290 (HY000)\n")
        #expect(transcript.sinceMark == "ERROR 1290 (HY000)\n")
    }

    @Test func aVeryLongSessionStaysBoundedAndKeepsItsEnd() {
        let transcript = Transcript()
        let line = String(repeating: "é", count: 99) + "\n"   // two bytes a character: cuts must not split one
        for _ in 0..<15_000 { transcript.record(line) }
        transcript.record("the end\n")
        let text = transcript.sinceMark
        #expect(text.utf8.count <= 2_000_100)
        #expect(text.hasSuffix("é\nthe end\n"))
    }
}
