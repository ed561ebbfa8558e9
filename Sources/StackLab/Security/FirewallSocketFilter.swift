import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The kernel half of the firewall: a classic BPF program on a listening socket, so a denied source's SYN is dropped
/// by the kernel itself and the client times out, as with a real `ufw deny`. An unprivileged process may filter its
/// own sockets (SO_ATTACH_FILTER needs no root); the filter only sees packets addressed to that socket.
///
/// The program reads the IPv4 source address and walks the rules that concern the port in order:
/// ```
/// ld  [net+12]            ; source address
/// jeq #own, accept        ; ufw's before.rules accept the server's own traffic (lo)
/// ld  [net+12]; and #mask; jeq #network, rule verdict   ; one block per rule
/// ret #default
/// ```
/// Only drops happen here; reject and limit are decided where the connection is accepted.
enum FirewallSocketFilter {
    /// One `struct sock_filter` (linux/filter.h).
    struct Instruction: Equatable {
        var code: UInt16
        var jt: UInt8
        var jf: UInt8
        var k: UInt32
    }

    static let accept: UInt32 = 0xFFFF_FFFF
    static let drop: UInt32 = 0
    /// SKF_NET_OFF + 12: the source address in the IPv4 header, whatever the socket's layer.
    static let sourceAddress = UInt32(bitPattern: Int32(-0x100000 + 12))

    /// The program for one port, or nil when the kernel has nothing to drop there (then no filter is attached).
    static func program(ownAddress: String, rules: [(network: UFWRule.Network?, drop: Bool)], dropByDefault: Bool) -> [Instruction]? {
        guard dropByDefault || rules.contains(where: \.drop), let own = UFWRule.Network.parse(ownAddress) else { return nil }
        var code: [Instruction] = [
            Instruction(code: 0x20, jt: 0, jf: 0, k: sourceAddress),   // ld [net+12]
            Instruction(code: 0x15, jt: 0, jf: 1, k: own),             // jeq #own
            Instruction(code: 0x06, jt: 0, jf: 0, k: accept),          // ret accept
        ]
        for rule in rules.prefix(60) {
            let verdict = rule.drop ? drop : accept
            guard let network = rule.network else {
                code.append(Instruction(code: 0x06, jt: 0, jf: 0, k: verdict))
                return code
            }
            code.append(Instruction(code: 0x20, jt: 0, jf: 0, k: sourceAddress))
            if network.prefix < 32 { code.append(Instruction(code: 0x54, jt: 0, jf: 0, k: UFWRule.Network.mask(network.prefix))) }
            code.append(Instruction(code: 0x15, jt: 0, jf: 1, k: network.address))
            code.append(Instruction(code: 0x06, jt: 0, jf: 0, k: verdict))
        }
        code.append(Instruction(code: 0x06, jt: 0, jf: 0, k: dropByDefault ? drop : accept))
        return code
    }

    /// `struct sock_fprog` with explicit padding: a 16-bit length, then the program's address at offset 8.
    struct Program: Sendable {
        var length: UInt16
        var padding16: UInt16 = 0
        var padding32: UInt32 = 0
        var address: UInt
    }

    /// Attaches the program to a listening socket (replacing any earlier one), or detaches the filter when nil.
    /// Connections already accepted keep the filter they were born with, as conntrack keeps established ones.
    @discardableResult
    static func apply(_ program: [Instruction]?, to channel: Channel) -> EventLoopFuture<Void>? {
        #if os(Linux)
        guard let socket = channel as? SocketOptionProvider else { return nil }
        let SO_ATTACH_FILTER: CInt = 26, SO_DETACH_FILTER: CInt = 27
        guard let program, !program.isEmpty else {
            // ENOENT when no filter was attached: nothing to undo.
            return socket.unsafeSetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_DETACH_FILTER), value: CInt(0))
                .flatMapErrorThrowing { _ in }
        }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: program.count * 8, alignment: 8)
        for (index, instruction) in program.enumerated() {
            let base = memory + index * 8
            base.storeBytes(of: instruction.code, as: UInt16.self)
            (base + 2).storeBytes(of: instruction.jt, as: UInt8.self)
            (base + 3).storeBytes(of: instruction.jf, as: UInt8.self)
            (base + 4).storeBytes(of: instruction.k, as: UInt32.self)
        }
        let fprog = Program(length: UInt16(program.count), address: UInt(bitPattern: memory))
        // The kernel copies the program during setsockopt; the memory is freed once that call has run.
        let address = UInt(bitPattern: memory)
        let attached = socket.unsafeSetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_ATTACH_FILTER), value: fprog)
        attached.whenComplete { _ in UnsafeMutableRawPointer(bitPattern: address)?.deallocate() }
        return attached
        #else
        return nil
        #endif
    }
}
