import AgentControl
import ArgumentParser
import Foundation
import Wire

/// `torpor vc add VC TEMPLATE…`, or `torpor vc add VC --flavor F --image I`.
struct VCAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add VMs to a virtual cluster from libvirt domain templates or from a flavor and an image.",
        discussion: """
            The VMs start with `vc start`.

            With --flavor and --image instead of templates, Torpor writes each VM's domain: the flavor's vCPUs and \
            memory, its own copy-on-write overlay of the image as its disk (the image file is never written), and \
            a NoCloud seed ISO (label cidata) as a CD-ROM with its hostname, address and the --ssh-key keys. \
            Without --name the VMs are named VC-1, VC-2, … after the cluster's names already taken.

            Every template is checked before anything is stored: malformed XML, a missing <name> or <memory>, a \
            name or UUID already taken, or a disk file that does not exist rejects the whole request. Each VM gets \
            an address from the manager's subnets, carried in its first interface's MAC (docs/addresses.md).

            Many VMs (e.g. --count 1000 of a large template) travel in several requests, each under the 1 MiB \
            frame limit. Before sending any, torpor checks that the cluster exists and that no name is taken. \
            Each request is all or nothing, but if the manager refuses a later one (e.g. its address pool runs \
            out), the VMs of the earlier requests stay added: torpor stops, lists the VMs added and those not, \
            and exits 1.
            """
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @Argument(help: "libvirt domain XML files (none with --flavor and --image).") var templates: [String] = []
    @Option(name: .long, help: "Make the VMs this size (`torpor flavor list`); needs --image.") var flavor: String?
    @Option(name: .long, help: "Boot the VMs from overlays of this image (`torpor image list`); needs --flavor.")
    var image: String?
    @Option(
        name: .customLong("ssh-key"),
        help: "An OpenSSH public key file whose keys every guest authorizes (with --image; repeatable)."
    )
    var sshKeyFiles: [String] = []
    @Option(name: .long, help: "Name the VM NAME (with --count, NAME-1 … NAME-N); the template's UUID is dropped.")
    var name: String?
    @Option(name: .long, help: "Make N VMs: from the one template (needs --name), or from --flavor and --image.")
    var count = 1
    @Option(name: .long, help: "Network receive bandwidth each VM needs, bytes/s.") var networkRx: UInt64 = 0
    @Option(name: .long, help: "Network transmit bandwidth each VM needs, bytes/s.") var networkTx: UInt64 = 0
    @Flag(
        name: .customLong("ha"),
        help: "Highly available: when its host fails, restart it elsewhere once the host is fenced."
    )
    var highlyAvailable = false
    @OptionGroup var options: ManagerOptions

    /// Each request's payload stays within this: the receiver's frame limit less room to spare.
    static let requestByteBudget = WireFrameDecoder.defaultMaximumPayloadLength * 7 / 8

    func validate() throws {
        guard (flavor == nil) == (image == nil) else { throw ValidationError("--flavor and --image go together") }
        if flavor != nil {
            guard templates.isEmpty else { throw ValidationError("give templates or --flavor and --image, not both") }
            guard (1...1000).contains(count) else { throw ValidationError("--count must be between 1 and 1000") }
            return
        }
        guard sshKeyFiles.isEmpty else { throw ValidationError("--ssh-key goes with --image") }
        guard !templates.isEmpty else { throw ValidationError("give at least one template file") }
        guard (1...1000).contains(count) else { throw ValidationError("--count must be between 1 and 1000") }
        if count > 1 || name != nil {
            guard templates.count == 1 else { throw ValidationError("--name and --count take exactly one template") }
        }
        if count > 1, name == nil { throw ValidationError("--count needs --name (or --flavor and --image)") }
    }

    func run() async throws {
        let client = ClusterClient(options: options)
        if let flavor, let image {
            try await addFromImage(flavor: flavor, image: image, client: client)
            return
        }
        var submissions: [ClusterRequest.VMSubmission] = []
        // Per VM: what names it in messages, and its template file.
        var labels: [String] = []
        var paths: [String] = []
        for path in templates {
            let xml: String
            do {
                xml = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw client.session.failure(
                    "cannot read template \(path): \(error.localizedDescription)",
                    code: TorporExit.usage
                )
            }
            let names: [String] =
                switch (name, count) {
                case (nil, _): [""]
                case (let name?, 1): [name]
                case (let name?, let count): (1...count).map { "\(name)-\($0)" }
                }
            for vmName in names {
                submissions.append(
                    .init(
                        templateXML: xml,
                        nameOverride: vmName,
                        networkRxBytesPerSecond: networkRx,
                        networkTxBytesPerSecond: networkTx,
                        highlyAvailable: highlyAvailable
                    )
                )
                labels.append(vmName.isEmpty ? path : vmName)
                paths.append(path)
            }
        }
        let batches: [Range<Int>]
        do {
            batches = try Self.batches(cluster: cluster, submissions, budget: Self.requestByteBudget)
        } catch {
            throw client.session.failure("template \(paths[error.index]): \(error)", code: TorporExit.usage)
        }
        guard batches.count > 1 else {
            try client.report(try await client.task(.add(cluster: cluster, vms: submissions)))
            return
        }
        // Several requests: refuse up front what the manager would refuse in a later one, after earlier ones landed.
        try await checkNamesAreFree(submissions.map(\.nameOverride), client: client)
        let statuses = try await send(submissions, labels: labels, in: batches, client: client)
        try client.report(Self.merged(statuses, cluster: cluster))
    }

    private func addFromImage(flavor: String, image: String, client: ClusterClient) async throws {
        var keys: [String] = []
        for path in sshKeyFiles {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw client.session.failure(
                    "cannot read SSH key file \(path): \(error.localizedDescription)",
                    code: TorporExit.usage
                )
            }
            let found = Self.publicKeys(in: text)
            guard !found.isEmpty else {
                throw client.session.failure("\(path) holds no SSH public key", code: TorporExit.usage)
            }
            keys += found
        }
        let names: [String]
        if let name {
            names = count == 1 ? [name] : (1...count).map { "\(name)-\($0)" }
        } else {
            let reply = try await client.clusters(.list)
            let taken = Set(reply.clusters.flatMap { $0.vms.map(\.name) })
            names = Self.freeNames(cluster: cluster, count: count, taken: taken)
        }
        let request = ClusterRequest.ImageVMs(
            flavor: flavor,
            image: image,
            names: names,
            sshKeys: keys,
            networkRxBytesPerSecond: networkRx,
            networkTxBytesPerSecond: networkTx,
            highlyAvailable: highlyAvailable
        )
        // The manager makes every VM's overlay and seed ISO before it answers: a few seconds each at worst.
        let reply = try await client.request(
            .addFromImage(cluster: cluster, request),
            answerWithin: 10 + Double(names.count) * 2
        )
        guard case .taskStatus(let status) = reply else {
            throw client.session.unexpected(reply, expected: "TaskStatus")
        }
        try client.report(status)
    }

    /// The lines of an OpenSSH public key file that hold keys (not blank, not comments).
    static func publicKeys(in text: String) -> [String] {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// The first `count` of CLUSTER-1, CLUSTER-2, … not in `taken`.
    static func freeNames(cluster: String, count: Int, taken: Set<String>) -> [String] {
        var names: [String] = []
        var number = 1
        while names.count < count {
            let candidate = "\(cluster)-\(number)"
            if !taken.contains(candidate) { names.append(candidate) }
            number += 1
        }
        return names
    }

    /// Splits `submissions` into consecutive runs whose ClusterRequest payload stays within `budget` bytes.
    static func batches(
        cluster: String,
        _ submissions: [ClusterRequest.VMSubmission],
        budget: Int
    ) throws(OversizeSubmission) -> [Range<Int>] {
        let empty = payloadSize(.add(cluster: cluster, vms: []))
        var batches: [Range<Int>] = []
        var start = 0
        var bytes = empty
        for (index, submission) in submissions.enumerated() {
            // What one more VM adds to the request, measured by the real encoder.
            let size = payloadSize(.add(cluster: cluster, vms: [submission])) - empty
            guard empty + size <= budget else {
                throw OversizeSubmission(index: index, bytes: empty + size, budget: budget)
            }
            if bytes + size > budget {
                batches.append(start..<index)
                start = index
                bytes = empty
            }
            bytes += size
        }
        batches.append(start..<submissions.count)
        return batches
    }

    static func payloadSize(_ request: ClusterRequest) -> Int {
        WireMessage.clusterRequest(request).encodedPayloadSize
    }

    /// One VM whose request alone would not fit in a frame.
    struct OversizeSubmission: Error, CustomStringConvertible {
        var index: Int
        var bytes: Int
        var budget: Int

        var description: String {
            "a request with this one VM takes \(bytes) bytes, over the \(budget) bytes that fit in the "
                + "\(WireError.frameLimit(WireFrameDecoder.defaultMaximumPayloadLength)) frame limit"
        }
    }

    /// Fails, before anything is added, when the cluster does not exist or a VM name is already taken. A manager
    /// that cannot list its clusters still checks each request itself.
    private func checkNamesAreFree(_ names: [String], client: ClusterClient) async throws {
        guard case .clusterReply(let reply) = try await client.request(.list) else { return }
        guard reply.clusters.contains(where: { $0.name == cluster }) else {
            throw client.session.failure("notFound: no virtual cluster named '\(cluster)'", code: TorporExit.failed)
        }
        let taken = Set(reply.clusters.flatMap { $0.vms.map(\.name) })
        var seen = Set<String>()
        for name in names where !name.isEmpty {
            guard !taken.contains(name) else {
                throw client.session.failure("conflict: a VM named '\(name)' already exists", code: TorporExit.failed)
            }
            guard seen.insert(name).inserted else {
                throw client.session.failure(
                    "conflict: the VM name '\(name)' appears twice in this request",
                    code: TorporExit.failed
                )
            }
        }
    }

    /// Sends the batches in order on one connection; stops at the first one not accepted and reports what was
    /// added by the earlier ones.
    private func send(
        _ submissions: [ClusterRequest.VMSubmission],
        labels: [String],
        in batches: [Range<Int>],
        client: ClusterClient
    ) async throws -> [TaskStatus] {
        let session = client.session
        return try await session.run { connection in
            var statuses: [TaskStatus] = []
            for (number, batch) in batches.enumerated() {
                let refusal: String
                do {
                    let reply = try await session.request(
                        .clusterRequest(.add(cluster: cluster, vms: Array(submissions[batch]))),
                        on: connection
                    )
                    switch reply {
                    case .taskStatus(let status) where status.state != .failed:
                        statuses.append(status)
                        continue
                    case .taskStatus(let status): refusal = "task \(status.id) failed: \(status.message)"
                    case .commandResult(let result): refusal = "\(result.code): \(result.message)"
                    default: refusal = "expected TaskStatus, the manager answered \(reply.type)"
                    }
                } catch {
                    // The manager may have added this request's VMs before the connection failed.
                    refusal = "\(error) (whether its VMs were added is unknown: see `torpor vc info \(cluster)`)"
                }
                throw partialFailure(
                    "request \(number + 1) of \(batches.count) not accepted, \(refusal)",
                    added: statuses,
                    notAdded: batches[number...].flatMap { labels[$0] },
                    session: session
                )
            }
            return statuses
        }
    }

    /// Prints what was added before a later request failed, and returns exit 1.
    private func partialFailure(
        _ reason: String,
        added: [TaskStatus],
        notAdded: [String],
        session: AgentSession
    ) -> ExitCode {
        let addedNames = added.flatMap { $0.outcomes.map(\.vm) }
        let summary =
            added.isEmpty
            ? "\(reason); nothing was added"
            : "\(reason); the \(addedNames.count) VMs of the earlier requests (tasks "
                + "\(added.map(\.id).joined(separator: ", "))) stay added to \(cluster), the other \(notAdded.count) "
                + "were not added"
        if options.json {
            Output.printJSON([
                "error": summary, "exitCode": Int(TorporExit.failed), "added": addedNames, "notAdded": notAdded,
                "tasks": added.map(\.id),
            ])
            return ExitCode(TorporExit.failed)
        }
        if !added.isEmpty { print(TaskOutput.text(Self.merged(added, cluster: cluster))) }
        print("not added: \(Self.range(notAdded))")
        return session.failure(summary, code: TorporExit.failed)
    }

    /// The batches' tasks shown as one.
    static func merged(_ statuses: [TaskStatus], cluster: String) -> TaskStatus {
        let outcomes = statuses.flatMap(\.outcomes)
        return TaskStatus(
            id: statuses.first?.id ?? "",
            kind: "add",
            cluster: cluster,
            state: statuses.contains { $0.state == .failed } ? .failed : .succeeded,
            message: "added \(outcomes.count) VMs to \(cluster) in \(statuses.count) requests (tasks "
                + "\(statuses.map(\.id).joined(separator: ", ")))",
            createdAtUnixMilliseconds: statuses.first?.createdAtUnixMilliseconds ?? 0,
            updatedAtUnixMilliseconds: statuses.last?.updatedAtUnixMilliseconds ?? 0,
            outcomes: outcomes
        )
    }

    /// "a, b, c" for a few names, "first … last (N VMs)" for many.
    static func range(_ names: [String]) -> String {
        guard names.count > 3, let first = names.first, let last = names.last else {
            return names.joined(separator: ", ")
        }
        return "\(first) … \(last) (\(names.count) VMs)"
    }
}
