import Logging
import NIOCore
import Wire

/// The last outbound step before the socket: a frame whose payload exceeds the frame limit is not sent, and its
/// write fails with `TransportError.frameTooLarge` naming the message and its size. The peer would refuse it and
/// close the connection, failing every other request on it with a less helpful error.
final class WireFrameSizeGuard: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let maximumPayloadLength: Int
    private let logger: Logger

    init(maximumPayloadLength: Int, logger: Logger) {
        self.maximumPayloadLength = maximumPayloadLength
        self.logger = logger
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        // WireMessageEncoder writes one frame per buffer, so the payload is everything after the header.
        let payload = frame.readableBytes - WireFrameHeader.size
        guard payload > maximumPayloadLength else {
            context.write(data, promise: promise)
            return
        }
        var bytes = frame
        let header = bytes.readWireFrameHeader()
        let type = header.flatMap { WireMessageType(rawValue: $0.type) }
        let role: TransportError.FrameRole =
            header?.flags.contains(.response) == true ? .reply : header?.requestID == 0 ? .message : .request
        let error = TransportError.frameTooLarge(type: type, role: role, bytes: payload, maximum: maximumPayloadLength)
        logger.warning("not sending an oversize frame", metadata: [TransportMetadataKey.error.rawValue: "\(error)"])
        promise?.fail(error)
    }
}
