import Foundation
import Testing
import StackLabResources

/// The EmbedResources plugin builds Resources/ (fixtures with quotes, escapes, control characters and scalars beyond
/// ASCII) into this target; ResourceFolder writes them out.
@Suite struct ResourceFolderTests {
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources")

    /// Every file under Resources/, by relative path.
    static func filesOnDisk() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let root = resources.resolvingSymlinksInPath().path
        guard let walk = FileManager.default.enumerator(atPath: root) else { return [:] }
        for case let path as String in walk {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            files[path] = try Data(contentsOf: URL(fileURLWithPath: root + "/" + path))
        }
        return files
    }

    func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("resource-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func theBuiltInFilesAreTheFilesOnDiskByteForByte() throws {
        let disk = try Self.filesOnDisk()
        let built = EmbeddedResources.folder.files
        #expect(built.map(\.path).sorted() == disk.keys.sorted())
        #expect(disk.keys.contains("nested/deeper/nginx.conf") && disk.keys.contains("empty.txt"))
        for file in built { #expect(Data(file.text.utf8) == disk[file.path], "\(file.path) differs from its built-in text") }
        #expect(EmbeddedResources.folder.text(at: "nested/deeper/nginx.conf") == "server { listen 127.0.0.1:8080; }\n")
        #expect(EmbeddedResources.folder.text(at: "missing.txt") == nil)
    }

    @Test func materializeWritesEveryFileOnceAndThenReusesTheFolder() throws {
        let base = try scratch()
        defer { try? FileManager.default.removeItem(at: base) }
        let folder = try #require(EmbeddedResources.folder.materialize(in: [base]))
        #expect(folder.path == base.appendingPathComponent(EmbeddedResources.folder.digest).path)
        for (path, data) in try Self.filesOnDisk() {
            #expect(FileManager.default.contents(atPath: folder.appendingPathComponent(path).path) == data, "\(path)")
        }
        let marker = folder.appendingPathComponent("text.txt").path
        let before = try FileManager.default.attributesOfItem(atPath: marker)[.systemFileNumber] as? Int
        #expect(EmbeddedResources.folder.materialize(in: [base]) == folder)
        let after = try FileManager.default.attributesOfItem(atPath: marker)[.systemFileNumber] as? Int
        #expect(before != nil && before == after, "a complete folder was written again")
        #expect(try FileManager.default.contentsOfDirectory(atPath: base.path) == [EmbeddedResources.folder.digest])
    }

    @Test func aFolderWithAFileMissingOrChangedIsWrittenAgain() throws {
        let base = try scratch()
        defer { try? FileManager.default.removeItem(at: base) }
        let folder = try #require(EmbeddedResources.folder.materialize(in: [base]))
        try FileManager.default.removeItem(at: folder.appendingPathComponent("nested/deeper/nginx.conf"))
        try Data("cut".utf8).write(to: folder.appendingPathComponent("text.txt"))
        #expect(EmbeddedResources.folder.materialize(in: [base]) == folder)
        for (path, data) in try Self.filesOnDisk() {
            #expect(FileManager.default.contents(atPath: folder.appendingPathComponent(path).path) == data, "\(path)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: base.path) == [EmbeddedResources.folder.digest], "a staging folder was left")
    }

    @Test func aBaseThatCannotBeWrittenGivesWayToTheNext() throws {
        let base = try scratch()
        defer { try? FileManager.default.removeItem(at: base) }
        // A folder cannot be made under a regular file, whoever asks (root included).
        let file = base.appendingPathComponent("a-file")
        try Data().write(to: file)
        let fallback = base.appendingPathComponent("fallback")
        let folder = try #require(EmbeddedResources.folder.materialize(in: [file.appendingPathComponent("cache"), fallback]))
        #expect(folder.deletingLastPathComponent().path == fallback.path)
        #expect(EmbeddedResources.folder.materialize(in: [file.appendingPathComponent("cache")]) == nil)
    }

    @Test func stacklabsStartingAtOnceShareOneCompleteFolder() async throws {
        let base = try scratch()
        defer { try? FileManager.default.removeItem(at: base) }
        let folders = await withTaskGroup(of: URL?.self) { group in
            for _ in 0..<8 { group.addTask { EmbeddedResources.folder.materialize(in: [base]) } }
            var all: [URL?] = []
            for await folder in group { all.append(folder) }
            return all
        }
        #expect(Set(folders.map { $0?.path }) == [base.appendingPathComponent(EmbeddedResources.folder.digest).path])
        #expect(EmbeddedResources.folder.isComplete(base.appendingPathComponent(EmbeddedResources.folder.digest)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: base.path) == [EmbeddedResources.folder.digest])
    }

    @Test func theCacheFolderFollowsXDGThenHomeThenTheTemporaryFolder() {
        #expect(ResourceFolder.bases(environment: ["XDG_CACHE_HOME": "/x/cache", "HOME": "/home/a"]).first?.path == "/x/cache/stacklab/resources")
        #expect(ResourceFolder.bases(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/home/a"]).first?.path == "/home/a/.cache/stacklab/resources")
        let bare = ResourceFolder.bases(environment: [:])
        #expect(bare.count == 1 && bare[0].path.hasSuffix("stacklab-\(getuid())/resources"))
    }
}
