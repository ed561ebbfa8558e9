import Foundation

/// Notices saves in a folder by polling the files' sizes and modification times (portable, no inotify), for
/// `stacklab grade --watch`. What the lab writes (data/, logs/) does not count.
public struct FolderWatch: Sendable {
    public var folder: String
    public var interval: Double

    public init(folder: String, interval: Double = 0.5) {
        self.folder = folder
        self.interval = interval
    }

    /// The files' sizes and modification times, by relative path.
    public func snapshot() -> [String: String] {
        let fm = FileManager.default
        var result: [String: String] = [:]
        guard let walker = fm.enumerator(atPath: folder) else { return result }
        while let item = walker.nextObject() as? String {
            let first = item.split(separator: "/").dropFirst().first.map(String.init) ?? item
            if ["data", "logs"].contains(first) || item.hasPrefix(".") { continue }
            guard let attributes = try? fm.attributesOfItem(atPath: (folder as NSString).appendingPathComponent(item)),
                  attributes[.type] as? FileAttributeType != .typeDirectory else { continue }
            let date = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            result[item] = "\(attributes[.size] ?? 0)@\(date)"
        }
        return result
    }

    /// Waits until something in the folder changes (then a little more, so an editor's save is complete); returns
    /// the changed files. Nil when the task is cancelled.
    public func nextChange(after before: [String: String]) async -> [String]? {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            let now = snapshot()
            if now != before {
                try? await Task.sleep(nanoseconds: 200_000_000)
                let keys = Set(now.keys).union(before.keys)
                return keys.filter { now[$0] != before[$0] }.sorted()
            }
        }
        return nil
    }
}
