import Foundation
import Testing
@testable import StackLabShell

@Suite struct CompletionTests {
    let completer = Completer(verbs: VerbTable.names, servers: ["lb-01", "web-01", "web-02"],
                              processes: ["lb-01/haproxy", "web-01/nginx", "web-01/gunicorn", "web-02/nginx", "web-02/gunicorn"],
                              labFiles: ["lab.conf", "lb-01/haproxy.cfg", "web-01/nginx.conf"])

    @Test func theFirstWordCompletesToAVerb() {
        let result = completer.complete("dia")
        #expect(result.candidates == ["diagram"])
        #expect(result.insertion == "gram ")
        #expect(Set(completer.complete("s").candidates) == ["status", "stop", "slow", "sql", "sleep", "scan"])
    }

    @Test func targetsCompleteToServersAndProcesses() {
        #expect(completer.complete("kill web-0").candidates
            == ["web-01", "web-02", "web-01/nginx", "web-01/gunicorn", "web-02/nginx", "web-02/gunicorn"])
        #expect(completer.complete("kill web-0").insertion == "")
        #expect(completer.complete("kill web-01/n").insertion == "ginx ")
        #expect(completer.complete("logs lb").candidates == ["lb-01", "lb-01/haproxy"])
        #expect(completer.complete("kill web-01 ").candidates.isEmpty)
    }

    @Test func severalCandidatesInsertWhatTheyShare() {
        #expect(completer.complete("kill w").insertion == "eb-0")
    }

    @Test func partitionOffersOnlyServersNotYetNamed() {
        #expect(completer.complete("partition lb-01 ").candidates == ["web-01", "web-02"])
    }

    @Test func helpCompletesVerbsAndWatchCompletesTheRepeatedCommand() {
        #expect(completer.complete("help cu").candidates == ["curl"])
        #expect(completer.complete("watch 1 sta").candidates == ["status"])
        #expect(completer.complete("watch di").candidates == ["diagram"])
    }

    @Test func labShowCompletesTheLabsFiles() {
        #expect(completer.complete("lab s").candidates == ["show"])
        #expect(completer.complete("lab show lb").candidates == ["lb-01/haproxy.cfg"])
    }

    @Test func curlCompletesTheSitesPaths() {
        #expect(completer.complete("curl /api").candidates == ["/api/posts"])
    }

    @Test func pathsCompleteFilesAndFolders() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/my-lab", withIntermediateDirectories: true)
        try "x".write(toFile: folder + "/my-notes.txt", atomically: true, encoding: .utf8)
        let result = completer.complete("lab load \(folder)/my-l")
        #expect(result.candidates == ["\(folder)/my-lab/"])
        #expect(result.insertion == "ab/")
        #expect(completer.complete("lab load \(folder)/my").candidates.count == 2)
    }
}
