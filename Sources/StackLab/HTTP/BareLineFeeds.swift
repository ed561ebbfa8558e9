import NIOCore

/// HAProxy and nginx take request heads whose lines end in a bare LF — what `nc` sends for lines typed by hand — as
/// if they ended in CRLF; the HTTP/1 decoder does not. In front of the decoder, this looks at how the connection's
/// first line ends: with CRLF, it steps out of the pipeline; with a bare LF, it adds the CR to every bare LF of each
/// request head from then on, and leaves bodies as they are (it reads Content-Length to step over them; after a
/// chunked body it changes nothing more).
final class BareLineFeeds: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Mode { case deciding, head, body, unchanged }
    private var mode = Mode.deciding
    /// The current head line so far (its first bytes: enough to read a Content-Length or Transfer-Encoding).
    private var line: [UInt8] = []
    private var sawRequestLine = false
    private var contentLength = 0
    private var chunked = false
    private var remaining = 0
    private var previous: UInt8 = 0
    private static let keptLine = 64

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if mode == .deciding {
            let bytes = buffer.readableBytesView
            guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
                line.append(contentsOf: bytes.filter { $0 != UInt8(ascii: "\r") }.prefix(max(0, Self.keptLine - line.count)))
                previous = bytes.last ?? previous
                return context.fireChannelRead(data)
            }
            let before = newline > bytes.startIndex ? bytes[newline - 1] : previous
            if before == UInt8(ascii: "\r") {
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            mode = .head
        }
        if mode == .unchanged { return context.fireChannelRead(data) }
        var out = context.channel.allocator.buffer(capacity: buffer.readableBytes + 16)
        rewrite(buffer.readableBytesView, into: &out)
        context.fireChannelRead(wrapInboundOut(out))
    }

    private func rewrite(_ bytes: ByteBufferView, into out: inout ByteBuffer) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch mode {
            case .deciding, .unchanged:
                out.writeBytes(bytes[index...])
                return
            case .body:
                let take = min(remaining, bytes.endIndex - index)
                out.writeBytes(bytes[index..<(index + take)])
                index += take
                remaining -= take
                if remaining == 0 { startHead() }
            case .head:
                let byte = bytes[index]
                index += 1
                if byte != UInt8(ascii: "\n") {
                    out.writeInteger(byte)
                    if byte != UInt8(ascii: "\r"), line.count < Self.keptLine { line.append(byte) }
                    previous = byte
                    continue
                }
                if previous != UInt8(ascii: "\r") { out.writeInteger(UInt8(ascii: "\r")) }
                out.writeInteger(byte)
                previous = byte
                lineEnded()
            }
        }
    }

    private func startHead() {
        mode = .head
        sawRequestLine = false
        contentLength = 0
        chunked = false
        previous = 0
    }

    private func lineEnded() {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            // An empty line before a request is skipped; after the headers it ends the head.
            guard sawRequestLine else { return }
            if chunked {
                mode = .unchanged
            } else if contentLength > 0 {
                mode = .body
                remaining = contentLength
            } else {
                startHead()
            }
            return
        }
        if sawRequestLine {
            let lowered = line.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }
            if lowered.starts(with: Array("content-length:".utf8)) {
                let digits = lowered.dropFirst("content-length:".count).filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
                // A length this cannot read is the decoder's to refuse; a huge one leaves the rest unchanged.
                contentLength = Int(String(decoding: digits, as: UTF8.self)) ?? 0
            } else if lowered.starts(with: Array("transfer-encoding:".utf8)) {
                chunked = true
            }
        }
        sawRequestLine = true
    }
}
