import ArgumentParser
import Foundation
import StackLab

/// The MySQL-like store is built in another part of stacklab; until the lab runs store processes, these verbs say so
/// plainly instead of pretending.
struct SQLVerb: RawTextVerb {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run one SQL statement on a store (the primary unless TARGET says) and print the result table.",
        discussion: """
        Examples:
          sql SELECT * FROM posts ORDER BY id DESC LIMIT 5
          sql web-02 SHOW REPLICA STATUS
        """)
    static let group = VerbGroup.store
    @Argument(parsing: .captureForPassthrough, help: "[TARGET] STATEMENT") var words: [String] = []
    var rawText = ""

    init() {}
    init(rawText: String, words: [String]) {
        self.rawText = rawText
        self.words = words
    }

    enum CodingKeys: CodingKey { case words }

    func execute(in shell: Shell) async throws {
        guard !rawText.isEmpty else { throw ShellError("give a statement, e.g. 'sql SELECT * FROM posts'") }
        try StoreAvailability.require(shell.lab)
    }
}

struct ReplicationVerb: ShellVerb {
    static let configuration = CommandConfiguration(
        commandName: "replication",
        abstract: "Is the replica keeping up with the primary? A summary of SHOW REPLICA STATUS.",
        discussion: """
        Example:
          replication
        """)
    static let group = VerbGroup.store

    func execute(in shell: Shell) async throws {
        try StoreAvailability.require(shell.lab)
    }
}

enum StoreAvailability {
    @MainActor static func require(_ lab: Lab) throws {
        let stores = lab.processes.filter { $0.kind == .mysql }
        if stores.isEmpty {
            throw ShellError("the MySQL-like store is not available in this build of stacklab yet, so there is no database to query "
                + "(coming with the store: 'sql' and 'replication' will work then)")
        }
        throw ShellError("this shell cannot talk to the store yet (the store runs, but the shell's SQL client is not built in)")
    }
}
