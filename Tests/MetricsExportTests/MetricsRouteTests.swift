import MetricsExport
import NIOHTTP1
import Testing

@Suite("MetricsRoute")
struct MetricsRouteTests {
    @Test(
        "method and target decide the answer",
        arguments: [
            (HTTPMethod.GET, "/metrics", MetricsRoute.metrics(includeBody: true)),
            (.HEAD, "/metrics", .metrics(includeBody: false)),
            (.GET, "/metrics?name[]=torpor_hosts", .metrics(includeBody: true)),
            (.GET, "/", .notFound),
            (.GET, "/metrics/", .notFound),
            (.GET, "/metricsx", .notFound),
            (.GET, "", .notFound),
            (.GET, "http://example/metrics", .notFound),
            (.POST, "/metrics", .methodNotAllowed),
            (.PUT, "/metrics", .methodNotAllowed),
            (.DELETE, "/metrics", .methodNotAllowed),
            (.POST, "/other", .notFound),
        ]
    )
    func route(method: HTTPMethod, target: String, expected: MetricsRoute) {
        #expect(MetricsRoute(method: method, target: target) == expected)
    }

    @Test("statuses")
    func statuses() {
        #expect(MetricsRoute.metrics(includeBody: true).status == .ok)
        #expect(MetricsRoute.notFound.status == .notFound)
        #expect(MetricsRoute.methodNotAllowed.status == .methodNotAllowed)
    }
}
