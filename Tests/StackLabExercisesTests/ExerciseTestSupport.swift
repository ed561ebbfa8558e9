import Foundation
import StackLabExercises

/// Where the repository's folders are, from this file's path.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let exercises = root + "/exercises"
    static let solutions = root + "/Tests/StackLabExercisesTests/Solutions"
    static let catalog = ExerciseCatalog(directory: exercises)
}

/// A temporary copy of an exercise's starter files; with `solution`, the reference solution's files laid over them
/// (a solution folder holds only the files it changes).
func exerciseFolder(_ id: String, solution: Bool = false, edit: ((String) throws -> Void)? = nil) throws -> String {
    let folder = NSTemporaryDirectory() + "stacklab-exercise-test-\(id)-\(UUID().uuidString.prefix(8))"
    try copyTree(Repository.exercises + "/" + id, to: folder)
    if solution { try copyTree(Repository.solutions + "/" + id, to: folder) }
    try edit?(folder)
    return folder
}

func copyTree(_ from: String, to: String) throws {
    let fm = FileManager.default
    try fm.createDirectory(atPath: to, withIntermediateDirectories: true)
    for item in try fm.contentsOfDirectory(atPath: from) {
        let source = from + "/" + item, destination = to + "/" + item
        var isDirectory: ObjCBool = false
        _ = fm.fileExists(atPath: source, isDirectory: &isDirectory)
        if isDirectory.boolValue {
            try copyTree(source, to: destination)
        } else {
            if fm.fileExists(atPath: destination) { try fm.removeItem(atPath: destination) }
            try fm.copyItem(atPath: source, toPath: destination)
        }
    }
}

func exercise(_ id: String) -> Exercise {
    guard let exercise = Repository.catalog.exercise(matching: id) else { fatalError("no exercise \(id) in \(Repository.exercises)") }
    return exercise
}

/// Grades the starter and the reference solution of an exercise.
func gradeTwice(_ id: String) async throws -> (starter: GradeReport, solution: GradeReport) {
    let starter = try exerciseFolder(id)
    let solution = try exerciseFolder(id, solution: true)
    defer {
        try? FileManager.default.removeItem(atPath: starter)
        try? FileManager.default.removeItem(atPath: solution)
    }
    let first = await Grader().grade(exercise(id), directory: starter)
    let second = await Grader().grade(exercise(id), directory: solution)
    return (first, second)
}

extension GradeReport {
    func check(_ name: String) -> CheckResult? { checks.first { $0.name == name } }
    var failedNames: [String] { checks.filter { !$0.passed }.map(\.name) }
}

/// Starts something on the next grading offset, moving on when a port is taken: the real binary in the terminal
/// tests grades on the same offsets from its own process.
func onFreeOffset<T>(isolation: isolated (any Actor)? = #isolation, _ start: (Int) async throws -> T) async throws -> T {
    var attempt = 0
    while true {
        attempt += 1
        do {
            return try await start(GradingPorts.offset())
        } catch where attempt < 5 && "\(error)".contains("already in use") {
            continue
        }
    }
}
