import Foundation

/// One graded exercise: a folder in exercises/ with README.md (the task), exercise.json (title, hints, what it
/// needs) and the starter lab files.
///
/// ```swift
/// let weights = ExerciseCatalog.builtIn.exercise(matching: "1")   // 01-weights
/// print(weights?.title ?? "")                                    // Weighted round robin
/// ```
public struct Exercise: Sendable, Equatable, Codable {
    /// `01-weights`: the folder's name.
    public var id: String
    public var number: Int
    public var title: String
    public var hints: [String]
    /// A part of stacklab the exercise needs that a build may lack (`security`, `keepalived`); nil when none.
    public var needs: String?
    /// Where the exercise's folder is (README.md, starter files). Not in exercise.json.
    public var folder: String = ""

    enum CodingKeys: String, CodingKey { case id, number, title, hints, needs }

    public var readme: String {
        (try? String(contentsOfFile: (folder as NSString).appendingPathComponent("README.md"), encoding: .utf8)) ?? title
    }

    /// The task in one paragraph: README's first paragraph after the title.
    public var summary: String {
        readme.components(separatedBy: "\n\n").dropFirst().first?.replacingOccurrences(of: "\n", with: " ") ?? title
    }

    /// The files a learner gets: everything in the folder but exercise.json.
    public var starterFiles: [String] {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: folder) else { return [] }
        var files: [String] = []
        while let item = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: (folder as NSString).appendingPathComponent(item), isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(item)
            }
        }
        return files.sorted()
    }
}

/// The exercises there are: those built into stacklab (resources), or those of a folder (the repository's
/// exercises/).
public struct ExerciseCatalog: Sendable {
    public var exercises: [Exercise]

    public init(exercises: [Exercise]) { self.exercises = exercises.sorted { $0.number < $1.number } }

    /// Reads every `NN-name/exercise.json` under `directory`.
    public init(directory: String) {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
        var list: [Exercise] = []
        for name in names.sorted() {
            let folder = (directory as NSString).appendingPathComponent(name)
            guard let exercise = Self.read(folder: folder) else { continue }
            list.append(exercise)
        }
        self.init(exercises: list)
    }

    /// The exercises built into stacklab.
    public static let builtIn = ExerciseCatalog(directory: resourceDirectory)

    /// The folder of the built-in exercises.
    public static var resourceDirectory: String {
        EmbeddedResources.url?.appendingPathComponent("exercises").path ?? ""
    }

    /// The exercise of a folder holding exercise.json (a starter folder, or a learner's copy of it).
    public static func read(folder: String) -> Exercise? {
        let manifest = (folder as NSString).appendingPathComponent("exercise.json")
        guard let data = FileManager.default.contents(atPath: manifest),
              var exercise = try? JSONDecoder().decode(Exercise.self, from: data) else { return nil }
        exercise.folder = folder
        return exercise
    }

    /// `1`, `01`, `01-weights` or `weights`.
    public func exercise(matching text: String) -> Exercise? {
        let word = text.lowercased()
        if let n = Int(word) { return exercises.first { $0.number == n } }
        return exercises.first { $0.id == word || $0.id.dropFirst(3) == word }
    }
}
