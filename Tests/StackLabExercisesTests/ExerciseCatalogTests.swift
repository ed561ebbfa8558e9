import Foundation
import Testing
@testable import StackLabExercises

@Suite struct ExerciseCatalogTests {
    /// The binary carries exercises/ (EmbedResources) and reads it from the folder it writes out: the same files exactly.
    @Test func theBuiltInExercisesAreTheRepositorysFolder() throws {
        let repository = try files(in: Repository.exercises)
        let resources = try files(in: ExerciseCatalog.resourceDirectory)
        #expect(repository.keys.sorted() == resources.keys.sorted())
        for (path, data) in repository { #expect(resources[path] == data, "\(path) differs from its built-in copy") }
    }

    @Test func everyExerciseHasATaskHintsStarterFilesAndChecks() {
        let catalog = ExerciseCatalog.builtIn
        #expect(catalog.exercises.map(\.number) == Array(1...8))
        for exercise in catalog.exercises {
            #expect(exercise.id.hasPrefix(String(format: "%02d-", exercise.number)))
            #expect(exercise.readme.hasPrefix("# Exercise \(exercise.number): \(exercise.title)"))
            #expect(!exercise.hints.isEmpty)
            #expect(exercise.starterFiles.contains("lab.conf"))
            let scenario = ScenarioTable.scenario(for: exercise.id)
            #expect(scenario.unavailable != nil || !scenario.checks.isEmpty, "\(exercise.id) has no checks")
        }
    }

    @Test func theExercisesReadmeHasALinePerExercise() throws {
        let readme = try String(contentsOfFile: Repository.exercises + "/README.md", encoding: .utf8)
        for exercise in ExerciseCatalog.builtIn.exercises {
            #expect(readme.contains("\(exercise.number). [\(exercise.title)](\(exercise.id)/README.md)"))
        }
    }

    @Test func exercisesAreFoundByNumberOrName() {
        let catalog = ExerciseCatalog.builtIn
        #expect(catalog.exercise(matching: "1")?.id == "01-weights")
        #expect(catalog.exercise(matching: "02")?.id == "02-failover")
        #expect(catalog.exercise(matching: "weights")?.id == "01-weights")
        #expect(catalog.exercise(matching: "03-read-replica")?.number == 3)
        #expect(catalog.exercise(matching: "nine") == nil)
    }

    private func files(in directory: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: directory) {
            var isDirectory: ObjCBool = false
            let full = directory + "/" + path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[path] = FileManager.default.contents(atPath: full)
            }
        }
        return result
    }
}

@Suite struct GradingPortsTests {
    /// Ports a lab uses, before its offset.
    static let basePorts = [3306, 8000, 8080, 8405, 8443, 9090, 9102, 9104, 9113]

    @Test func noGradingPortCanEqualAPortOfAnotherSuitesLab() {
        var theirs = Set<Int>()
        for offset in stride(from: 0, through: 24_600, by: 50) {
            for port in Self.basePorts { theirs.insert(port + offset) }
        }
        var clashes: [String] = []
        // The grader's labs may also run keepalived: its exporter on 9165 (VRRP itself is UDP, apart from TCP).
        // The graders' offsets, and those of the learners' shells that the terminal tests start beside them.
        let ours = Array(stride(from: GradingPorts.first, through: GradingPorts.last, by: 100))
            + Array(stride(from: LearnerTerminal.shellOffsets.first, through: LearnerTerminal.shellOffsets.last, by: 100))
        for offset in ours {
            for port in Self.basePorts + [9165] where theirs.contains(port + offset) { clashes.append("\(port)+\(offset)") }
        }
        #expect(LearnerTerminal.shellOffsets.last < GradingPorts.first)
        #expect(clashes.isEmpty, "\(clashes.prefix(5))")
        // Below the ephemeral ports, where outgoing connections from the same addresses take their source ports.
        #expect(GradingPorts.last + 9165 < 32_768)
    }

    @Test func offsetsStayInTheirRange() {
        for _ in 0..<200 {
            let offset = GradingPorts.offset()
            #expect((GradingPorts.first...GradingPorts.last).contains(offset) && offset % 100 == 68)
        }
    }
}

@Suite struct ProgressTests {
    func workspace() -> ExerciseWorkspace {
        let root = NSTemporaryDirectory() + "stacklab-progress-\(UUID().uuidString.prefix(8))"
        return ExerciseWorkspace(root: root + "/work", progressFile: root + "/state/stacklab/exercises.json")
    }

    @Test func beginCopiesTheStarterOnceAndNeverOverwritesTheLearnersWork() throws {
        let space = workspace()
        let weights = try #require(ExerciseCatalog.builtIn.exercise(matching: "1"))
        let first = try space.begin(weights)
        #expect(first.created)
        let cfg = first.folder + "/lb-01/haproxy.cfg"
        try "edited by the learner\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let second = try space.begin(weights)
        #expect(!second.created)
        #expect(try String(contentsOfFile: cfg, encoding: .utf8) == "edited by the learner\n")
        #expect(space.loadProgress().current == "01-weights")
        #expect(ExerciseCatalog.read(folder: first.folder)?.id == "01-weights")
    }

    @Test func bestScoresAndHintsAreKeptBetweenRuns() throws {
        let space = workspace()
        let weights = try #require(ExerciseCatalog.builtIn.exercise(matching: "1"))
        func report(_ passed: [Bool]) -> GradeReport {
            GradeReport(exercise: weights, checks: passed.enumerated().map {
                CheckResult(name: "c\($0.offset)", points: 2, status: $0.element ? .passed : .failed, message: "", seconds: 0)
            }, seconds: 1)
        }
        try space.update { $0.note(report([true, false, false])) }
        try space.update { $0.note(report([true, true, true])) }
        try space.update { $0.note(report([false, false, false])) }
        let record = space.loadProgress().record("01-weights")
        #expect(record.best == 6 && record.maxScore == 6 && record.passed && record.attempts == 3)
        #expect(space.loadProgress().statusWord(for: weights) == "done 6/6")
        let hints = try (0...weights.hints.count).map { _ in try space.update { $0.nextHint(for: weights) } }
        #expect(hints.compactMap { $0?.text } == weights.hints)
        #expect(hints.last! == nil)
    }
}
