import Hummingbird
import Logging

/// One structured log line per request, whatever answered it (a route, or the router's 404): method, path (with its
/// query), status, duration and peer. Wraps the router's responder, outside every route group.
struct AccessLogResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == HTTPFrontContext {
    typealias Context = HTTPFrontContext

    let inner: Inner
    let logger: Logger

    func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await inner.respond(to: request, context: context)
            log(request, context, status: response.status.code, since: started)
            return response
        } catch let error as any HTTPResponseError {
            log(request, context, status: error.status.code, since: started)
            throw error
        } catch {
            // Hummingbird answers any other error with 500.
            log(request, context, status: 500, since: started)
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, since started: ContinuousClock.Instant) {
        let took = ContinuousClock.now - started
        let milliseconds = took / .milliseconds(1)
        logger.log(
            level: AccessLogLevel.of(method: request.method.rawValue, path: request.uri.path, status: status),
            "http request",
            metadata: [
                ManagerMetadataKey.method.rawValue: "\(request.method.rawValue)",
                ManagerMetadataKey.path.rawValue: "\(request.uri.description)",
                ManagerMetadataKey.status.rawValue: "\(status)",
                ManagerMetadataKey.duration.rawValue: "\((milliseconds * 1000).rounded() / 1000)ms",
                ManagerMetadataKey.peer.rawValue: "\(context.peer)",
            ]
        )
    }
}

/// The level of a request's access log line: warning for 5xx; debug for a web view page's reads, which come every
/// 2 s per open page; info otherwise.
enum AccessLogLevel {
    static func of(method: String, path: String, status: Int) -> Logger.Level {
        if status >= 500 { return .warning }
        return method == "GET" && status < 400 && path.hasPrefix("/ui/") ? .debug : .info
    }
}
