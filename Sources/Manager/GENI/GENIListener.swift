import Foundation
import Logging
import MetricsExport
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The Aggregate Manager's listener (docs/geni.md): XML-RPC over HTTPS, each client authenticated by a certificate
/// that chains to one of the clearinghouse roots of `geni.trust_roots`. POST with a body of at most
/// `geni.max_request_bytes`, at most `geni.max_connections` connections at once, each closed when a request takes more
/// than 30 s to arrive; anything else is answered with its HTTP status, a malformed body with an XML-RPC fault.
public final class GENIListener: Service, Sendable {
    /// How long a client has to send a whole request, counted from connecting and from each response.
    static let requestTimeout: Duration = .seconds(30)

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    public let localAddress: SocketAddress?
    private let listener: NIOAsyncChannel<Connection, Never>
    private let aggregate: GENIAggregate
    private let maximumRequestBytes: Int
    private let logger: Logger

    /// Why the listener could not start, naming the setting.
    public struct StartError: Error, CustomStringConvertible {
        public var setting: String
        public var reason: String
        public var description: String { "cannot start the GENI aggregate (\(setting)): \(reason)" }
    }

    public static func bind(
        configuration: GENIConfiguration,
        aggregate: GENIAggregate,
        logger: Logger
    ) async throws(StartError) -> GENIListener {
        let context = try tlsContext(configuration)
        guard let (host, port) = Self.split(configuration.listen) else {
            throw StartError(setting: "geni.listen", reason: "'\(configuration.listen)' is not HOST:PORT")
        }
        let maximum = configuration.maximumRequestBytes
        let open = OpenConnections(maximum: configuration.maximumConnections)
        do {
            let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 64)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Past geni.max_connections a connection is closed before TLS: no task, no handshake.
                        guard open.admit() else {
                            channel.close(promise: nil)
                            throw TooManyConnections()
                        }
                        channel.closeFuture.whenComplete { _ in open.release() }
                        let operations = channel.pipeline.syncOperations
                        try operations.addHandler(NIOSSLServerHandler(context: context))
                        try operations.addHandler(HTTPResponseEncoder())
                        try operations.addHandler(
                            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes))
                        )
                        try operations.addHandler(HTTPServerPipelineHandler())
                        try operations.addHandler(HTTPServerProtocolErrorHandler())
                        // A client that drips its request (or idles on keep-alive) does not hold a task forever.
                        try operations.addHandler(RequestDeadlineHandler(timeout: Self.requestTimeout))
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
            return GENIListener(listener: listener, aggregate: aggregate, maximumRequestBytes: maximum, logger: logger)
        } catch {
            throw StartError(setting: "geni.listen", reason: "cannot listen on \(configuration.listen): \(error)")
        }
    }

    private init(
        listener: NIOAsyncChannel<Connection, Never>,
        aggregate: GENIAggregate,
        maximumRequestBytes: Int,
        logger: Logger
    ) {
        self.listener = listener
        self.localAddress = listener.channel.localAddress
        self.aggregate = aggregate
        self.maximumRequestBytes = maximumRequestBytes
        self.logger = logger
    }

    public func run() async throws {
        logger.info("serving the GENI aggregate", metadata: [.listen: "\(localAddress.map { "\($0)" } ?? "?")"])
        do {
            try await cancelWhenGracefulShutdown {
                try await self.listener.executeThenClose { accepted in
                    try await withThrowingDiscardingTaskGroup { group in
                        for try await connection in accepted {
                            group.addTask { await self.serve(connection) }
                        }
                    }
                }
            }
        } catch is CancellationError {
        } catch {
            if !Task.isCancelled { throw error }
        }
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = ByteBuffer()
                var tooLarge = false
                for try await part in inbound {
                    switch part {
                    case .head(let request):
                        head = request
                        body.clear()
                        tooLarge = false
                    case .body(var chunk):
                        if body.readableBytes + chunk.readableBytes > maximumRequestBytes {
                            tooLarge = true
                        } else {
                            body.writeBuffer(&chunk)
                        }
                    case .end:
                        guard let request = head else { return }
                        head = nil
                        let caller = await Self.caller(connection.channel)
                        try await respond(to: request, body: tooLarge ? nil : body, caller: caller, outbound)
                        if !request.isKeepAlive || tooLarge { return }
                    }
                }
            }
        } catch {
            logger.debug("a GENI connection ended", metadata: [.error: "\(error)"])
        }
    }

    private func respond(
        to request: HTTPRequestHead,
        body: ByteBuffer?,
        caller: GENICaller,
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        let status: HTTPResponseStatus
        let text: String
        var contentType = "text/xml; charset=utf-8"
        if request.method != .POST {
            status = .methodNotAllowed
            text = "the GENI aggregate answers XML-RPC: POST a methodCall\n"
            contentType = "text/plain; charset=utf-8"
        } else if let body {
            status = .ok
            let xml = String(decoding: body.readableBytesView, as: UTF8.self)
            do {
                let call = try XMLRPCCodec.decodeCall(xml)
                text = XMLRPCCodec.encode(.value(await aggregate.handle(call, caller: caller)))
            } catch {
                text = XMLRPCCodec.encode(.fault(code: -32700, message: "not an XML-RPC call: \(error)"))
            }
        } else {
            status = .payloadTooLarge
            text = "the request is larger than geni.max_request_bytes (\(maximumRequestBytes))\n"
            contentType = "text/plain; charset=utf-8"
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(text.utf8.count)")
        headers.add(name: "Connection", value: request.isKeepAlive && body != nil ? "keep-alive" : "close")
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: text))))
        try await outbound.write(.end(nil))
    }

    private static func caller(_ channel: any Channel) async -> GENICaller {
        guard let certificate = try? await channel.nioSSL_peerCertificate().get() else {
            return GENICaller(subject: "(no certificate)", certificate: nil)
        }
        // The subject is only logged (GENI puts the user's URN in a URI subject alternative name); credentials are
        // matched against the certificate itself.
        let uris = certificate._subjectAlternativeNames().filter { $0.nameType == .uri }
        return GENICaller(
            subject: uris.first.map { String(decoding: $0.contents, as: UTF8.self) } ?? "(a certificate without a URN)",
            certificate: try? certificate.toDERBytes()
        )
    }

    // MARK: TLS

    static func tlsContext(_ configuration: GENIConfiguration) throws(StartError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(configuration.certificate)
        } catch {
            throw StartError(setting: "geni.certificate", reason: "\(configuration.certificate): \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: configuration.key, format: .pem)
        } catch {
            throw StartError(setting: "geni.key", reason: "\(configuration.key) is not a PEM private key (\(error))")
        }
        let roots = try trustRoots(configuration.trustRoots)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        // Every client must present a certificate chaining to a clearinghouse root; no host names are involved.
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates(roots)
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw StartError(setting: "geni.certificate", reason: "the certificate and key make no TLS context: \(error)")
        }
    }

    /// Every PEM certificate in the folder's `*.pem` and `*.crt` files.
    static func trustRoots(_ folder: String) throws(StartError) -> [NIOSSLCertificate] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw StartError(setting: "geni.trust_roots", reason: "cannot read the folder \(folder): \(error)")
        }
        var roots: [NIOSSLCertificate] = []
        for name in names.sorted() where name.hasSuffix(".pem") || name.hasSuffix(".crt") {
            do {
                roots += try NIOSSLCertificate.fromPEMFile("\(folder)/\(name)")
            } catch {
                throw StartError(setting: "geni.trust_roots", reason: "\(folder)/\(name) is not PEM certificates: \(error)")
            }
        }
        guard !roots.isEmpty else {
            throw StartError(setting: "geni.trust_roots", reason: "no certificate (*.pem, *.crt) in \(folder)")
        }
        return roots
    }

    static func split(_ listen: String) -> (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65_535).contains(port)
        else { return nil }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host.isEmpty ? nil : (host, port)
    }
}
