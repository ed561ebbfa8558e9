import Foundation

/// Lab files written to break a parser: nesting tens of thousands of levels deep, bytes that are not UTF-8.
public enum HostileFiles {
    /// nginx.conf with `levels` `location` blocks nested inside its first `server` block, right after the line that
    /// holds `anchor` (about 15 bytes a level: 50,000 levels are 750 KB).
    public static func nestedNginx(_ text: String, levels: Int, after anchor: String = "server_name") -> String {
        var lines = text.components(separatedBy: "\n")
        let at = (lines.firstIndex { $0.contains(anchor) } ?? 0) + 1
        let nested = String(repeating: "location / {\n", count: levels) + String(repeating: "}\n", count: levels)
        lines.insert(String(nested.dropLast()), at: at)
        return lines.joined(separator: "\n")
    }

    /// The line (1-based) of the first nested block of `nestedNginx`.
    public static func firstNestedLine(_ text: String, after anchor: String = "server_name") -> Int {
        (text.components(separatedBy: "\n").firstIndex { $0.contains(anchor) } ?? 0) + 2
    }

    /// An alerts.yml whose one rule's labels nest `levels` flow sequences deep on line 7 (`[[[…]]]`).
    public static func nestedFlowAlerts(levels: Int) -> String {
        "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up == 0\n        labels:\n          a: "
            + String(repeating: "[", count: levels) + String(repeating: "]", count: levels) + "\n"
    }

    /// An alerts.yml nested `levels` block sequences deep on line 7, in YAML's compact form (`- - - … x`, 2 bytes a level).
    public static func nestedCompactAlerts(levels: Int) -> String {
        "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up == 0\n        labels:\n          a:\n"
            + "            " + String(repeating: "- ", count: levels) + "x\n"
    }

    /// An alerts.yml nested `levels` block mappings deep, one more indented line a level, from line 7 on (the file
    /// grows with the square of `levels`: keep it to hundreds).
    public static func nestedBlockAlerts(levels: Int) -> String {
        var text = "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up == 0\n        labels:\n"
        for level in 0..<levels { text += String(repeating: " ", count: 10 + level) + "a:\n" }
        return text + String(repeating: " ", count: 10 + levels) + "b\n"
    }

    /// The text's bytes with `bytes` put in right after the first occurrence of `marker`.
    public static func inserting(_ bytes: [UInt8], after marker: String, in text: String) -> [UInt8] {
        guard let range = text.range(of: marker) else { return Array(text.utf8) }
        return Array(text[..<range.upperBound].utf8) + bytes + Array(text[range.upperBound...].utf8)
    }

    /// Latin-1 "é" (0xE9), the byte a learner's editor writes for `# café`.
    public static let latin1E: [UInt8] = [0xE9]
}
