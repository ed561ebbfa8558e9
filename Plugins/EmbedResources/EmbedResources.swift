import Foundation
import PackagePlugin

/// Builds every file under a target's `Resources/` folder into the target's code, as `EmbeddedResources`, so the
/// binary carries its labs, lessons and exercises wherever it is installed and needs no folder beside it. An entry of
/// `Resources/` may be a symbolic link to a top-level folder of the package (`lessons/`, `exercises/`): that folder
/// stays the only copy.
@main
struct EmbedResources: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let resources = target.directoryURL.appendingPathComponent("Resources")
        let files = Self.files(under: resources)
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedResources.swift")
        // The tool reads `relative path`, `file` pairs; the files themselves are the inputs, so editing one rebuilds.
        var arguments = [output.path]
        for file in files { arguments += [file.relative, file.url.path] }
        return [.buildCommand(displayName: "Embedding \(files.count) files of \(target.name)/Resources",
                              executable: try context.tool(named: "embed-resources").url,
                              arguments: arguments,
                              inputFiles: files.map(\.url),
                              outputFiles: [output])]
    }

    /// Every regular file below `folder`, symbolic links followed, sorted by path; hidden files left out.
    static func files(under folder: URL, relative: String = "") -> [(relative: String, url: URL)] {
        let fm = FileManager.default
        let real = folder.resolvingSymlinksInPath()
        guard let names = try? fm.contentsOfDirectory(atPath: real.path) else { return [] }
        var found: [(relative: String, url: URL)] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let url = real.appendingPathComponent(name).resolvingSymlinksInPath()
            let path = relative.isEmpty ? name : relative + "/" + name
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue { found += files(under: url, relative: path) } else { found.append((path, url)) }
        }
        return found
    }
}
