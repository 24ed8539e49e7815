import NIOHTTP1

/// What the listener answers to one request, decided from its method and target alone (no I/O; tested as a table).
public enum MetricsRoute: Equatable, Sendable {
    /// 200 with the exposition (HEAD: the headers only).
    case metrics(includeBody: Bool)
    /// 404: any path but `/metrics`.
    case notFound
    /// 405 with `Allow: GET, HEAD`.
    case methodNotAllowed

    public static let path = "/metrics"

    public init(method: HTTPMethod, target: String) {
        // The query string (e.g. Prometheus' `?name[]=…`) does not change the answer.
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == Self.path else {
            self = .notFound
            return
        }
        switch method {
        case .GET: self = .metrics(includeBody: true)
        case .HEAD: self = .metrics(includeBody: false)
        default: self = .methodNotAllowed
        }
    }

    public var status: HTTPResponseStatus {
        switch self {
        case .metrics: .ok
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        }
    }
}
