import Foundation

/// The lessons that come with stacklab (the repository's `lessons/` folder, built into the binary), or the
/// lessons of any folder.
public struct LessonLibrary: Sendable {
    public var lessons: [Lesson]
    /// Files that could not be read, with file:line (shown by `lessons`, never hidden).
    public var problems: [LessonError]

    public init(lessons: [Lesson], problems: [LessonError] = []) {
        self.lessons = lessons.sorted { ($0.number, $0.name) < ($1.number, $1.name) }
        self.problems = problems
    }

    /// The folder of the built-in lessons (written out from the binary on first use).
    public static var builtInFolder: String? {
        EmbeddedResources.url.map { $0.appendingPathComponent("lessons").path }
    }

    public static func builtIn() -> LessonLibrary {
        guard let folder = builtInFolder else { return LessonLibrary(lessons: []) }
        return load(folder: folder)
    }

    /// Every `NN-name.md` file of a folder (README.md is not a lesson).
    public static func load(folder: String) -> LessonLibrary {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }.sorted()
        var lessons: [Lesson] = []
        var problems: [LessonError] = []
        for (index, name) in names.enumerated() {
            do {
                lessons.append(try LessonParser.parse(contentsOf: (folder as NSString).appendingPathComponent(name), number: index + 1))
            } catch {
                problems.append(error)
            }
        }
        return LessonLibrary(lessons: lessons, problems: problems)
    }

    /// `3`, `03`, `health-checks`, `03-health-checks`, or a unique start of a name (`health`).
    public func find(_ word: String) -> Lesson? {
        if let n = Int(word) { return lessons.first { $0.number == n } }
        if let exact = lessons.first(where: { $0.name == word || "\(String(format: "%02d", $0.number))-\($0.name)" == word }) { return exact }
        let starts = lessons.filter { $0.name.hasPrefix(word) }
        return starts.count == 1 ? starts[0] : nil
    }

    /// Words for completion: numbers and names.
    public var names: [String] { lessons.map(\.name) + lessons.map { String($0.number) } }
}
