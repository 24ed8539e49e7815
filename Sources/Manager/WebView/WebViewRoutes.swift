import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Wire

/// Where the web view reads the cluster: the replies `torpor hosts` and `torpor energy` show, and the leader's VMs,
/// all in-process.
struct WebViewSource: Sendable {
    var status: @Sendable () async -> ManagerStatusReply
    var energy: @Sendable () async -> EnergyReply
    var vms: @Sendable () async throws -> [GroupLeaderView.VM]
    var now: @Sendable () -> Date = { Date() }

    /// The sources of a running manager: its control session's replies and its leader's view.
    static func manager(control: ControlSession, leader: GroupLeader) -> WebViewSource {
        WebViewSource(
            status: { await control.statusReply(at: .now) },
            energy: { await control.energyReply(at: .now) },
            vms: { try await leader.view().vms }
        )
    }

    func state() async throws -> WebViewState {
        async let statusReply = self.status()
        async let energyReply = self.energy()
        let vms = try await self.vms()
        return WebViewState(at: now(), status: await statusReply, energy: await energyReply, vms: vms)
    }
}

/// The live web view on the HTTP front (`http.web_view.enabled`, docs/web-view.md): a page under `/ui/` drawing the
/// hierarchy and the energy chart from two JSON endpoints, `GET /ui/state` and `GET /ui/energy`, plus one host's
/// row at `GET /ui/hosts/ID`. Everything is served from the binary; the page needs nothing from the internet.
struct WebViewRoutes: HTTPFrontRoutes {
    let source: WebViewSource
    let history: EnergyHistoryRecorder
    let logger: Logger

    /// What the page fetches, named in the 404 of any other path under /ui.
    static let paths = ["/ui/", "/ui/state", "/ui/energy", "/ui/hosts/ID"]

    func add(to router: Router<HTTPFrontContext>) {
        router.get("ui") { _, _ in Self.asset(WebViewPage.html, type: "text/html; charset=utf-8") }
        router.get("ui/app.js") { _, _ in Self.asset(WebViewPage.script, type: "text/javascript; charset=utf-8") }
        router.get("ui/style.css") { _, _ in Self.asset(WebViewPage.style, type: "text/css; charset=utf-8") }
        router.get("ui/state") { _, _ in await self.answer { try Self.json(try await source.state()) } }
        router.get("ui/energy") { request, _ in
            await self.answer { try Self.json(try energy(query: request.uri.queryParameters.get("after"))) }
        }
        router.get("ui/hosts/:id") { _, context in
            await self.answer { try Self.json(try await host(context.parameters.get("id") ?? "")) }
        }
        // The router does not fall back from `ui/hosts/:id` to `ui/**` for `/ui/hosts` itself.
        for unknown in ["ui/**", "ui/hosts"] {
            router.get(RouterPath(unknown)) { request, _ in Self.unknown(request.uri.path) }
        }
    }

    static func unknown(_ path: String) -> Response {
        text("nothing is served at \(path) (the web view serves \(paths.joined(separator: ", ")))", status: .notFound)
    }

    /// `GET /ui/energy`: the history, or with `?after=T` only the samples taken after T (milliseconds since 1970).
    struct EnergyHistoryReply: Codable, Equatable, Sendable {
        var intervalSeconds: Double
        var capacity: Int
        var samples: [EnergySample]
    }

    func energy(query after: String?) throws(Refusal) -> EnergyHistoryReply {
        var since: Int64?
        if let after {
            guard let value = Int64(after) else {
                throw Refusal(status: .badRequest, message: "after='\(after)' is not a time in milliseconds since 1970")
            }
            since = value
        }
        return EnergyHistoryReply(
            intervalSeconds: history.interval / .seconds(1),
            capacity: history.capacity,
            samples: history.samples(after: since)
        )
    }

    /// `GET /ui/hosts/ID`: the host as `/ui/state` shows it, with its group manager's id.
    struct HostReply: Codable, Equatable, Sendable {
        var groupManager: String
        var host: WebViewState.Host
    }

    func host(_ id: String) async throws -> HostReply {
        let state = try await source.state()
        guard let found = state.host(id) else {
            let known = state.groupManagers.flatMap(\.hosts).map(\.id)
            throw Refusal(
                status: .notFound,
                message: "no host '\(id)' (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
            )
        }
        return HostReply(groupManager: found.groupManager, host: found.host)
    }

    /// A refusal: status and the message naming the problem.
    struct Refusal: Error {
        var status: HTTPResponse.Status
        var message: String
    }

    /// The response `body` makes; a refusal as its text, any other failure as a 500 naming it.
    func answer(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let refusal as Refusal {
            return Self.text(refusal.message, status: refusal.status)
        } catch {
            logger.error("web view request failed", metadata: [.error: "\(error)"])
            return Self.text("internal error: \(error)", status: .internalServerError)
        }
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: type, .cacheControl: "no-cache"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", .contentLength: "\(data.count)", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func text(_ message: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: message.hasSuffix("\n") ? message : message + "\n"))
        )
    }
}
