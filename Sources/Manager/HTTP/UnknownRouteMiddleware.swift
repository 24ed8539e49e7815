import Hummingbird

/// Hummingbird answers a path no route group serves with an empty 404; this names what was asked instead (a
/// route's own 404 with a message passes unchanged).
struct UnknownRouteMiddleware: RouterMiddleware {
    typealias Context = HTTPFrontContext

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && error.body == nil {
            return Response(
                status: .notFound,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: "nothing is served at \(request.method.rawValue) \(request.uri.path)\n")
                )
            )
        }
    }
}
