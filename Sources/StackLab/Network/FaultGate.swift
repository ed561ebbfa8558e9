import Atomics
import NIOCore

/// The fault a running process is in, read on every packet: one atomic integer (0 normal, -1 hung, N > 0 slow by N ms).
public final class FaultSwitch: Sendable {
    private let mode = ManagedAtomic<Int>(0)

    public init() {}

    public var isHung: Bool { mode.load(ordering: .relaxed) == -1 }
    public var slowMilliseconds: Int { max(0, mode.load(ordering: .relaxed)) }
    public var isNormal: Bool { mode.load(ordering: .relaxed) == 0 }

    public func hang() { mode.store(-1, ordering: .relaxed) }
    public func slow(milliseconds: Int) { mode.store(max(1, milliseconds), ordering: .relaxed) }
    public func clear() { mode.store(0, ordering: .relaxed) }
}

/// First handler of every accepted connection. It makes a process look hung (it accepted, then never reads or
/// answers), slow (every message waits N ms), or cut off by a partition — without the process's own handlers knowing.
/// What it holds back is delivered, in order, once the fault clears, as a kernel's buffers would.
final class FaultGate: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private let faults: FaultSwitch
    private let network: LabNetwork
    private let localServer: String
    /// False for a process that applies `slow` itself (the app server makes its workers slow, not its socket).
    private let delaysReads: Bool
    private var peerServer: String?
    private var heldReads: [(due: NIODeadline, data: NIOAny)] = []
    private var heldWrites: [(data: NIOAny, promise: EventLoopPromise<Void>?)] = []
    private var heldFlush = false
    private var pollScheduled = false

    init(faults: FaultSwitch, network: LabNetwork, localServer: String, delaysReads: Bool = true) {
        self.faults = faults
        self.delaysReads = delaysReads
        self.network = network
        self.localServer = localServer
    }

    func channelActive(context: ChannelHandlerContext) {
        if let address = context.remoteAddress?.ipAddress { peerServer = network.serverName(forAddress: address) }
        context.fireChannelActive()
    }

    private var blocked: Bool { faults.isHung || network.isPartitioned(localServer, peerServer) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if heldReads.isEmpty && (faults.isNormal || (!delaysReads && !faults.isHung)) && !network.isPartitioned(localServer, peerServer) {
            context.fireChannelRead(data)
            return
        }
        let delay = delaysReads ? Int64(faults.slowMilliseconds) : 0
        heldReads.append((NIODeadline.now() + .milliseconds(delay), data))
        schedulePoll(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if heldReads.isEmpty { context.fireChannelReadComplete() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if heldWrites.isEmpty && !blocked {
            context.write(data, promise: promise)
        } else {
            heldWrites.append((data, promise))
            schedulePoll(context: context)
        }
    }

    func flush(context: ChannelHandlerContext) {
        if heldWrites.isEmpty { context.flush() } else { heldFlush = true }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for write in heldWrites { write.promise?.fail(ChannelError.ioOnClosedChannel) }
        heldWrites.removeAll()
        heldReads.removeAll()
        context.fireChannelInactive()
    }

    private func schedulePoll(context: ChannelHandlerContext) {
        guard !pollScheduled else { return }
        pollScheduled = true
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .milliseconds(5)) {
            let (gate, context) = loopBound.value
            gate.pollScheduled = false
            gate.release(context: context)
        }
    }

    private func release(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if blocked {
            schedulePoll(context: context)
            return
        }
        if !heldWrites.isEmpty {
            let writes = heldWrites
            heldWrites.removeAll()
            for write in writes { context.write(write.data, promise: write.promise) }
            if heldFlush {
                heldFlush = false
                context.flush()
            }
        }
        let now = NIODeadline.now()
        var delivered = false
        while let first = heldReads.first, first.due <= now, !blocked {
            heldReads.removeFirst()
            context.fireChannelRead(first.data)
            delivered = true
        }
        if delivered { context.fireChannelReadComplete() }
        if !heldReads.isEmpty || !heldWrites.isEmpty { schedulePoll(context: context) }
    }
}
