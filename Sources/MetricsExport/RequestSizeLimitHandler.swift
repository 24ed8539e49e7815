import NIOCore

/// Sent toward the socket by `RequestDeadlineHandler` when a whole request has arrived: the byte count restarts.
struct MetricsRequestCompleted: Sendable {}

/// Answers 413 to a request that grows past `maximumBytes` (counted on the raw bytes, before the HTTP decoder
/// buffers any) and closes its side of the connection; what the peer still sends is dropped until it closes (closing
/// with unread bytes would reset the connection and lose the answer) or the request deadline ends it. Sits first in
/// the pipeline.
final class RequestSizeLimitHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let maximumBytes: Int
    private var received = 0
    private var refused = false

    init(maximumBytes: Int) {
        self.maximumBytes = maximumBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let buffer = unwrapInboundIn(data)
        received += buffer.readableBytes
        guard received <= maximumBytes else {
            refused = true
            let answer = "HTTP/1.1 413 Content Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
                + "content-length: 43\r\nconnection: close\r\n\r\nrequest larger than the listener accepts\r\n\r\n"
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer(string: answer)))).whenComplete { _ in
                channel.close(mode: .output, promise: nil)
            }
            return
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is MetricsRequestCompleted {
            received = 0
            promise?.succeed()
            return
        }
        context.triggerUserOutboundEvent(event, promise: promise)
    }
}
