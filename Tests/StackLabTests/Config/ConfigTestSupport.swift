import Foundation
import Testing
@testable import StackLab

/// Runs `parse` and returns the ConfigError it throws, recording a failure when it does not throw one.
func configError(_ parse: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigError? {
    do {
        try parse()
        Issue.record("expected a ConfigError, the text was accepted", sourceLocation: sourceLocation)
        return nil
    } catch let error as ConfigError {
        return error
    } catch {
        Issue.record("expected a ConfigError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The built-in foobar lab's folder (the resource bundle).
func builtInLabURL() throws -> URL {
    try #require(LabDefinition.builtIn(named: "foobar"))
}

func builtInFile(_ relative: String) throws -> String {
    try String(contentsOf: builtInLabURL().appendingPathComponent(relative), encoding: .utf8)
}

/// A fresh temporary folder, removed by the caller with `cleanUp`.
func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("stacklab-config-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
