import Foundation

/// One VRRP instance's state (RFC 3768 §6.4, as keepalived runs it), with no I/O: fed with start, adverts, clock
/// ticks and track-script results; answers what to do (become MASTER and take the floating address, send an advert …).
///
/// ```swift
/// var vrrp = VRRPInstance(config: backupConfig, address: "127.0.1.2")
/// _ = vrrp.start(now: 0)                 // BACKUP, master down at 3 × advert_int + skew
/// let actions = vrrp.tick(now: 3.7)      // [.becomeMaster, .sendAdvert(priority: 100)]
/// ```
public struct VRRPInstance: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable {
        case initialize = "INIT", backup = "BACKUP", master = "MASTER", fault = "FAULT"
    }

    public enum Action: Sendable, Equatable {
        case becomeMaster
        case becomeBackup
        case enterFault
        case sendAdvert(priority: Int)
    }

    public let config: KeepalivedConfig.Instance
    /// This server's address: breaks priority ties (the higher address wins).
    public let address: String
    public private(set) var role: Role = .initialize
    /// Priority after track-script weights.
    public private(set) var priority: Int
    private var masterDownAt: Double?
    private var nextAdvertAt: Double?
    private var tracksOK = true

    public init(config: KeepalivedConfig.Instance, address: String) {
        self.config = config
        self.address = address
        self.priority = config.priority
    }

    public var masterDownInterval: Double { 3 * config.advertInterval + skewTime }
    var skewTime: Double { Self.skew(priority: priority, advertInterval: config.advertInterval, version: config.version) }

    /// VRRPv2: (256 − priority)/256 s; VRRPv3: (256 − priority) × advert_int / 256.
    static func skew(priority: Int, advertInterval: Double, version: Int) -> Double {
        version == 3 ? Double(256 - priority) * advertInterval / 256 : Double(256 - priority) / 256
    }

    public mutating func start(now: Double) -> [Action] {
        guard tracksOK else {
            role = .fault
            return [.enterFault]
        }
        if config.initialMaster || priority == 255 { return enterMaster(now: now) }
        return enterBackup(now: now)
    }

    /// An advert from another router of the same virtual_router_id.
    public mutating func advertReceived(priority sender: Int, from senderAddress: String, now: Double) -> [Action] {
        switch role {
        case .initialize, .fault:
            return []
        case .backup:
            if sender == 0 {
                // The master is leaving: take over after the skew time only.
                masterDownAt = now + skewTime
            } else if !config.preempt || sender >= priority {
                masterDownAt = now + masterDownInterval
            }
            // A lower-priority master with preemption on: let the timer run out and take over.
            return []
        case .master:
            if sender == 0 { return [.sendAdvert(priority: priority)] }
            if sender > priority || (sender == priority && Self.compare(senderAddress, address) > 0) {
                return enterBackup(now: now)
            }
            return []
        }
    }

    /// Time passes: the master-down timer of a BACKUP, the advert timer of a MASTER.
    public mutating func tick(now: Double) -> [Action] {
        switch role {
        case .backup:
            if let at = masterDownAt, now >= at { return enterMaster(now: now) }
            return []
        case .master:
            guard let at = nextAdvertAt, now >= at else { return [] }
            nextAdvertAt = max(at + config.advertInterval, now)
            return [.sendAdvert(priority: priority)]
        case .initialize, .fault:
            return []
        }
    }

    /// The tracked scripts' verdict changed: `weight` (the sum of the failing scripts' weights, or nil when a
    /// weight-0 script fails, which means FAULT).
    public mutating func trackChanged(ok: Bool, weight: Int, now: Double) -> [Action] {
        tracksOK = ok
        if !ok && weight == 0 {
            guard role != .fault else { return [] }
            let wasMaster = role == .master
            role = .fault
            masterDownAt = nil
            nextAdvertAt = nil
            // A master that goes to FAULT says so with priority 0, so the backup takes over at once.
            return wasMaster ? [.sendAdvert(priority: 0), .enterFault] : [.enterFault]
        }
        priority = max(1, min(254, config.priority + weight))
        if role == .fault { return enterBackup(now: now) }
        return []
    }

    /// keepalived stopping: a master sends priority 0 so the backup does not wait for Master_Down.
    public mutating func shutdown() -> [Action] {
        defer {
            role = .initialize
            masterDownAt = nil
            nextAdvertAt = nil
        }
        return role == .master ? [.sendAdvert(priority: 0)] : []
    }

    private mutating func enterMaster(now: Double) -> [Action] {
        role = .master
        masterDownAt = nil
        nextAdvertAt = now + config.advertInterval
        return [.becomeMaster, .sendAdvert(priority: priority)]
    }

    private mutating func enterBackup(now: Double) -> [Action] {
        let was = role
        role = .backup
        nextAdvertAt = nil
        masterDownAt = now + masterDownInterval
        return was == .backup ? [] : [.becomeBackup]
    }

    /// IPv4 addresses compared as numbers.
    static func compare(_ a: String, _ b: String) -> Int {
        let x = a.split(separator: ".").compactMap { Int($0) }, y = b.split(separator: ".").compactMap { Int($0) }
        for (p, q) in zip(x, y) where p != q { return p < q ? -1 : 1 }
        return 0
    }
}

/// A VRRPv2 advertisement (RFC 3768 §5.1), the bytes keepalived sends every advert_int: version 2 / type 1, the
/// virtual router id, the priority, the addresses, simple-text authentication, and the advert interval in whole
/// seconds (rounded up, as in VRRPv2; each router times its own adverts from its configured advert_int, as
/// keepalived does). stacklab carries it in a UDP datagram between the balancers' addresses: a real advert is IP
/// protocol 112 to 224.0.0.18, which needs root.
public struct VRRPAdvert: Sendable, Equatable {
    public var virtualRouterID: Int
    public var priority: Int
    public var advertInterval: Double
    public var addresses: [String]
    public var authPass: String?
    public var version: Int

    public init(virtualRouterID: Int, priority: Int, advertInterval: Double, addresses: [String], authPass: String?, version: Int = 2) {
        self.version = version
        self.virtualRouterID = virtualRouterID
        self.priority = priority
        self.advertInterval = advertInterval
        self.addresses = addresses
        self.authPass = authPass
    }

    public func encoded() -> [UInt8] {
        if version == 3 {
            // VRRPv3 (RFC 5798 §5.1): 4 reserved bits and a 12-bit interval in centiseconds; no authentication.
            let centiseconds = min(4095, Int((advertInterval * 100).rounded()))
            var bytes: [UInt8] = [0x31, UInt8(virtualRouterID & 0xFF), UInt8(priority & 0xFF), UInt8(addresses.count & 0xFF),
                                  UInt8(centiseconds >> 8), UInt8(centiseconds & 0xFF), 0, 0]
            for address in addresses {
                let parts = address.split(separator: ".").compactMap { UInt8($0) }
                bytes += parts.count == 4 ? parts : [0, 0, 0, 0]
            }
            let sum = Self.checksum(bytes)
            bytes[6] = UInt8(sum >> 8)
            bytes[7] = UInt8(sum & 0xFF)
            return bytes
        }
        var bytes: [UInt8] = [0x21, UInt8(virtualRouterID & 0xFF), UInt8(priority & 0xFF), UInt8(addresses.count & 0xFF),
                              authPass == nil ? 0 : 1, UInt8(min(255, Int(advertInterval.rounded(.up)))), 0, 0]
        for address in addresses {
            let parts = address.split(separator: ".").compactMap { UInt8($0) }
            bytes += parts.count == 4 ? parts : [0, 0, 0, 0]
        }
        var auth = Array((authPass ?? "").utf8.prefix(8))
        auth += [UInt8](repeating: 0, count: 8 - auth.count)
        bytes += auth
        let sum = Self.checksum(bytes)
        bytes[6] = UInt8(sum >> 8)
        bytes[7] = UInt8(sum & 0xFF)
        return bytes
    }

    /// Nil for anything that is not a valid VRRPv2 advert (bad version, type, length or checksum).
    public static func decode(_ bytes: [UInt8]) -> VRRPAdvert? {
        if bytes.count >= 8, bytes[0] == 0x31 {
            let count = Int(bytes[3])
            guard bytes.count == 8 + 4 * count, checksum(bytes) == 0 else { return nil }
            let addresses = (0..<count).map { i in (0..<4).map { "\(bytes[8 + 4 * i + $0])" }.joined(separator: ".") }
            let centiseconds = Int(bytes[4] & 0x0F) << 8 | Int(bytes[5])
            return VRRPAdvert(virtualRouterID: Int(bytes[1]), priority: Int(bytes[2]), advertInterval: Double(centiseconds) / 100,
                              addresses: addresses, authPass: nil, version: 3)
        }
        guard bytes.count >= 16, bytes[0] == 0x21 else { return nil }
        let count = Int(bytes[3])
        guard bytes.count == 8 + 4 * count + 8, checksum(bytes) == 0 else { return nil }
        var addresses: [String] = []
        for i in 0..<count {
            let o = 8 + 4 * i
            addresses.append("\(bytes[o]).\(bytes[o + 1]).\(bytes[o + 2]).\(bytes[o + 3])")
        }
        let authBytes = bytes[(8 + 4 * count)...].prefix { $0 != 0 }
        let pass = bytes[4] == 1 ? String(decoding: authBytes, as: UTF8.self) : nil
        return VRRPAdvert(virtualRouterID: Int(bytes[1]), priority: Int(bytes[2]), advertInterval: Double(bytes[5]),
                          addresses: addresses, authPass: pass)
    }

    /// The Internet checksum (RFC 1071) over the VRRP message.
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
