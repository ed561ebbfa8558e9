import Foundation

/// One file built into the binary: its path under the target's `Resources/` folder and its text.
public struct ResourceFile: Sendable {
    public let path: String
    public let text: String
    public init(_ path: String, _ text: String) {
        self.path = path
        self.text = text
    }
}

/// The files of a target's `Resources/` folder, built into its code by the EmbedResources plugin (`EmbeddedResources`
/// in that target). The code that reads labs, lessons and exercises reads folders, so the files are written out once,
/// to `$XDG_CACHE_HOME/stacklab/resources/DIGEST` (or `~/.cache/…`; the temporary folder when neither can be
/// written), and read from there. DIGEST changes with the files, so two versions of stacklab never share a folder.
public struct ResourceFolder: Sendable {
    public let digest: String
    public let files: [ResourceFile]

    public init(digest: String, files: [ResourceFile]) {
        self.digest = digest
        self.files = files
    }

    /// The text of one file, without writing anything.
    public func text(at path: String) -> String? { files.first { $0.path == path }?.text }

    /// Where the folders are written: the cache folder, then the temporary folder.
    public static func bases(environment: [String: String] = ProcessInfo.processInfo.environment) -> [URL] {
        var bases: [URL] = []
        if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") {
            bases.append(URL(fileURLWithPath: cache).appendingPathComponent("stacklab/resources"))
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            bases.append(URL(fileURLWithPath: home).appendingPathComponent(".cache/stacklab/resources"))
        }
        bases.append(URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("stacklab-\(getuid())/resources"))
        return bases
    }

    /// The folder holding every file, written if it is missing or a file in it is missing or has another size (a
    /// cleaned cache, an edit); nil only when no base can be written.
    public func materialize(in bases: [URL] = ResourceFolder.bases()) -> URL? {
        for base in bases {
            let folder = base.appendingPathComponent(digest, isDirectory: true)
            if isComplete(folder) { return folder }
            if write(folder), isComplete(folder) { return folder }
        }
        return nil
    }

    /// Every file there with its size; a folder is renamed into place only once written, so this is enough.
    public func isComplete(_ folder: URL) -> Bool {
        let fm = FileManager.default
        for file in files {
            guard let attributes = try? fm.attributesOfItem(atPath: folder.appendingPathComponent(file.path).path),
                  attributes[.type] as? FileAttributeType == .typeRegular,
                  (attributes[.size] as? NSNumber)?.intValue == file.text.utf8.count else { return false }
        }
        return true
    }

    /// Writes every file into a new folder beside `folder`, then renames it into place, so a reader — another
    /// stacklab starting at the same moment — sees the old folder or the whole new one, never half of it.
    private func write(_ folder: URL) -> Bool {
        let fm = FileManager.default
        let base = folder.deletingLastPathComponent()
        let staging = base.appendingPathComponent(".\(digest)-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        defer { try? fm.removeItem(at: staging) }
        do {
            try fm.createDirectory(at: base, withIntermediateDirectories: true)
            for file in files {
                let url = staging.appendingPathComponent(file.path)
                try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(file.text.utf8).write(to: url)
            }
        } catch { return false }
        if rename(staging.path, folder.path) == 0 { return true }
        // Another stacklab wrote it first, or a damaged copy is in the way: move that aside, then ours in.
        if isComplete(folder) { return true }
        let aside = base.appendingPathComponent(".\(digest)-old-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        guard rename(folder.path, aside.path) == 0 else { return isComplete(folder) }
        try? fm.removeItem(at: aside)
        return rename(staging.path, folder.path) == 0 || isComplete(folder)
    }
}
