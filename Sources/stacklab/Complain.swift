import Foundation
import StackLabShell

/// Writes `stacklab: <what>` to standard error, each line wrapped to 80 columns as the shell's own messages are (a
/// path longer than a line keeps a line of its own). Kept as they are: lines that begin with spaces, as examples do,
/// and lines that begin with a place (`web-01/nginx.conf:17: …`), which editors and scripts read as one line.
func complain(_ what: String) {
    let lines = what.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { index, line in
        let text = index == 0 ? "stacklab: " + line : String(line)
        return line.hasPrefix(" ") || line.prefixMatch(of: #/\S+:\d+: /#) != nil ? text : TerminalText.prose(text, width: 80)
    }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
}

/// `complain` for an error, in its own words.
func complain(_ error: any Error) { complain("\(error)") }
