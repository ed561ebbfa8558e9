/// Client/server capability flags ("Capabilities Flags" in the MySQL protocol docs).
struct Capabilities: OptionSet, Sendable {
    let rawValue: UInt32
    static let longPassword = Capabilities(rawValue: 0x0000_0001)  // MariaDB calls this bit CLIENT_MYSQL: "server is MySQL"
    static let foundRows = Capabilities(rawValue: 0x0000_0002)
    static let longFlag = Capabilities(rawValue: 0x0000_0004)
    static let connectWithDB = Capabilities(rawValue: 0x0000_0008)
    static let noSchema = Capabilities(rawValue: 0x0000_0010)
    static let localFiles = Capabilities(rawValue: 0x0000_0080)
    static let protocol41 = Capabilities(rawValue: 0x0000_0200)
    static let interactive = Capabilities(rawValue: 0x0000_0400)
    static let ssl = Capabilities(rawValue: 0x0000_0800)
    static let transactions = Capabilities(rawValue: 0x0000_2000)
    static let secureConnection = Capabilities(rawValue: 0x0000_8000)
    static let multiStatements = Capabilities(rawValue: 0x0001_0000)
    static let multiResults = Capabilities(rawValue: 0x0002_0000)
    static let psMultiResults = Capabilities(rawValue: 0x0004_0000)
    static let pluginAuth = Capabilities(rawValue: 0x0008_0000)
    static let connectAttrs = Capabilities(rawValue: 0x0010_0000)
    static let pluginAuthLenencData = Capabilities(rawValue: 0x0020_0000)
    static let deprecateEOF = Capabilities(rawValue: 0x0100_0000)

    /// What this server offers. No SSL: the TLS lesson is about HTTP; the client then connects in plain text.
    static let server: Capabilities = [
        .longPassword, .foundRows, .longFlag, .connectWithDB, .noSchema, .protocol41, .interactive, .transactions,
        .secureConnection, .multiStatements, .multiResults, .psMultiResults, .pluginAuth, .connectAttrs,
        .pluginAuthLenencData, .deprecateEOF,
    ]
}

/// Server status flags sent in OK and EOF packets.
enum ServerStatus {
    static let autocommit: UInt16 = 0x0002
    static let moreResultsExist: UInt16 = 0x0008
}

/// Command bytes ("Text Protocol" / "Replication Protocol").
enum Command: UInt8 {
    case sleep = 0x00, quit = 0x01, initDB = 0x02, query = 0x03, fieldList = 0x04, createDB = 0x05, dropDB = 0x06
    case refresh = 0x07, statistics = 0x09, processInfo = 0x0A, connect = 0x0B, processKill = 0x0C, debug = 0x0D
    case ping = 0x0E, changeUser = 0x11, binlogDump = 0x12, registerReplica = 0x15, stmtPrepare = 0x16
    case resetConnection = 0x1F, binlogDumpGTID = 0x1E, setOption = 0x1B
}

/// Column types on the wire (enum_field_types).
public enum MySQLType: UInt8, Sendable {
    case tiny = 1, short = 2, long = 3, float = 4, double = 5, null = 6, timestamp = 7, longlong = 8, int24 = 9
    case date = 10, time = 11, datetime = 12, year = 13, varchar = 15, newDecimal = 246, blob = 252
    case varString = 253, string = 254

    var isNumeric: Bool {
        switch self {
        case .tiny, .short, .long, .float, .double, .longlong, .int24, .newDecimal, .year: return true
        default: return false
        }
    }
}

/// Column definition flags.
enum ColumnFlag {
    static let notNull: UInt16 = 1
    static let primaryKey: UInt16 = 2
    static let uniqueKey: UInt16 = 4
    static let blob: UInt16 = 16
    static let unsigned: UInt16 = 32
    static let binary: UInt16 = 128
    static let autoIncrement: UInt16 = 512
    static let noDefaultValue: UInt16 = 4096
    static let partKey: UInt16 = 16384
    static let num: UInt16 = 32768
}

/// Collation ids: utf8mb4_0900_ai_ci (MySQL 8 default) and binary (numbers, dates).
enum Collation {
    static let utf8mb4: UInt16 = 255
    static let binary: UInt16 = 63
}
