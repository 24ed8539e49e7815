import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 child channel with `RequestTargetRepair` in front of its parser, for old clients that
/// send a request target without its leading `/`.
struct TolerantHTTP1Channel: ServerChildChannel {
    let inner: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try channel.pipeline.syncOperations.addHandler(RequestTargetRepairHandler(), position: .first)
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 through `TolerantHTTP1Channel`.
    static func tolerantHTTP1(configuration: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            TolerantHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: configuration))
        }
    }
}

/// Runs each connection's inbound bytes through a `RequestTargetRepair` before the HTTP decoder sees them.
final class RequestTargetRepairHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var repair = RequestTargetRepair()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let output = repair.process(buffer.readableBytesView)
        buffer.clear()
        guard !output.isEmpty else { return }
        buffer.writeBytes(output)
        context.fireChannelRead(wrapInboundOut(buffer))
    }
}
