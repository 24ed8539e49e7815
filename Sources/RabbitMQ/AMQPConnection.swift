import CRabbitMQ
import Foundation

/// One connection to a broker with one channel in publisher-confirm mode (rabbitmq-c). Every call blocks: use it
/// only from `AMQPThread` (rabbitmq-c's connection state is not thread-safe either). The connection state owns its
/// socket; both are freed in `deinit`. Every `amqp_bytes_t` handed to rabbitmq-c points into a buffer that lives for
/// the whole call (`withCString`, `withUnsafeBytes`): rabbitmq-c copies what it sends before returning and keeps no
/// pointer to it. What it decodes (a frame's method) lives in its pools until `amqp_maybe_release_buffers`, so it is
/// copied out first.
public final class AMQPConnection {
    private let state: amqp_connection_state_t
    private let channel: amqp_channel_t = 1
    private let timeout: Duration
    private var isOpen = false

    // AMQP method ids (class << 16 | method): rabbitmq-c's macros cast them, which Swift does not import.
    static let connectionClose: amqp_method_number_t = 0x000A_0032
    static let channelClose: amqp_method_number_t = 0x0014_0028
    static let basicAck: amqp_method_number_t = 0x003C_0050
    static let basicNack: amqp_method_number_t = 0x003C_0078
    static let frameMethod: UInt8 = 1
    static let contentTypeFlag: amqp_flags_t = 1 << 15
    static let deliveryModeFlag: amqp_flags_t = 1 << 12

    /// Connects, logs in, opens the channel and puts it in confirm mode, each step within `timeout`.
    public init(_ endpoint: AMQPEndpoint, timeout: Duration) throws(AMQPError) {
        guard let state = amqp_new_connection() else {
            throw AMQPError(step: .connect, message: "cannot allocate a connection")
        }
        self.state = state
        self.timeout = timeout
        // From here every property is set: a throw runs deinit, which frees the state (and closes what is open).
        guard let socket = amqp_tcp_socket_new(state) else {
            throw AMQPError(step: .connect, message: "cannot allocate a socket")
        }
        var limit = Self.timeval(timeout)
        let opened = amqp_socket_open_noblock(socket, endpoint.host, Int32(clamping: endpoint.port), &limit)
        guard opened == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(step: .connect, message: "\(endpoint.host):\(endpoint.port): \(Self.statusText(opened))")
        }
        _ = amqp_set_rpc_timeout(state, &limit)
        try check(
            torpor_amqp_login_plain(state, endpoint.virtualHost, 0, endpoint.user, endpoint.password),
            .login
        )
        isOpen = true
        _ = amqp_channel_open(state, channel)
        try check(amqp_get_rpc_reply(state), .channel)
        _ = amqp_confirm_select(state, channel)
        try check(amqp_get_rpc_reply(state), .confirmSelect)
        amqp_maybe_release_buffers(state)
    }

    deinit {
        close()
        amqp_destroy_connection(state)
    }

    /// A topic exchange, declared as Snooze did: not durable, not auto-deleted. Declaring one that exists with the
    /// same kind is a no-op.
    public func declareTopicExchange(_ name: String) throws(AMQPError) {
        name.withCString { exchange in
            "topic".withCString { kind in
                _ = amqp_exchange_declare(
                    state,
                    channel,
                    amqp_cstring_bytes(exchange),
                    amqp_cstring_bytes(kind),
                    0,
                    0,
                    0,
                    0,
                    amqp_empty_table
                )
            }
        }
        try check(amqp_get_rpc_reply(state), .declare)
        amqp_maybe_release_buffers(state)
    }

    /// Publishes `body` and waits for the broker's confirm: returns once the broker has taken it.
    public func publish(exchange: String, routingKey: String, body: [UInt8], contentType: String) throws(AMQPError) {
        let status = exchange.withCString { exchangeName in
            routingKey.withCString { key in
                contentType.withCString { type in
                    body.withUnsafeBytes { bytes in
                        var properties = amqp_basic_properties_t()
                        properties._flags = Self.contentTypeFlag | Self.deliveryModeFlag
                        properties.content_type = amqp_cstring_bytes(type)
                        properties.delivery_mode = 1
                        return amqp_basic_publish(
                            state,
                            channel,
                            amqp_cstring_bytes(exchangeName),
                            amqp_cstring_bytes(key),
                            0,
                            0,
                            &properties,
                            amqp_bytes_t(len: bytes.count, bytes: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                        )
                    }
                }
            }
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            isOpen = false
            throw AMQPError(step: .publish, message: Self.statusText(status))
        }
        // The decoded frames live in rabbitmq-c's pools: freed once the confirm is read (or failed), never grown.
        defer { amqp_maybe_release_buffers(state) }
        try awaitConfirm()
    }

    private func awaitConfirm() throws(AMQPError) {
        var frame = amqp_frame_t()
        var limit = Self.timeval(timeout)
        while true {
            let status = amqp_simple_wait_frame_noblock(state, &frame, &limit)
            guard status == AMQP_STATUS_OK.rawValue else {
                isOpen = false
                throw AMQPError(step: .confirm, message: Self.statusText(status))
            }
            guard frame.frame_type == Self.frameMethod else { continue }
            switch frame.payload.method.id {
            case Self.basicAck:
                return
            case Self.basicNack:
                throw AMQPError(step: .confirm, message: "the broker refused the message (basic.nack)")
            case Self.channelClose, Self.connectionClose:
                isOpen = false
                throw Self.closeError(frame.payload.method, .publish)
            default:
                continue
            }
        }
    }

    /// Closes channel and connection politely when they are open; safe to call twice. After a socket error or a
    /// timeout it does nothing: the handshake would only wait out the timeout on a dead socket.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        _ = amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS))
        _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
    }

    private func check(_ reply: amqp_rpc_reply_t, _ step: AMQPError.Step) throws(AMQPError) {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            isOpen = false
            throw Self.closeError(reply.reply, step)
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            isOpen = false
            throw AMQPError(step: step, message: Self.statusText(reply.library_error))
        default:
            throw AMQPError(step: step, message: "no reply from the broker")
        }
    }

    /// The broker's reason when it closed the channel or the connection.
    static func closeError(_ method: amqp_method_t, _ step: AMQPError.Step) -> AMQPError {
        guard let decoded = method.decoded else { return AMQPError(step: step, message: "closed by the broker") }
        switch method.id {
        case connectionClose:
            let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            return AMQPError(step: step, message: text(close.reply_text), replyCode: close.reply_code)
        case channelClose:
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            return AMQPError(step: step, message: text(close.reply_text), replyCode: close.reply_code)
        default:
            return AMQPError(step: step, message: "unexpected method \(method.id) from the broker")
        }
    }

    static func text(_ bytes: amqp_bytes_t) -> String {
        guard let start = bytes.bytes, bytes.len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: start, count: bytes.len), as: UTF8.self)
    }

    static func statusText(_ status: Int32) -> String {
        amqp_error_string2(status).map { String(cString: $0) } ?? "status \(status)"
    }

    static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
