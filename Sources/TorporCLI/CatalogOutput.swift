import AgentControl
import Foundation
import Wire

/// Flavors and images as text tables or JSON (sorted keys, ISO-8601 times).
enum CatalogOutput {
    static func flavorTable(_ flavors: [CatalogReply.Flavor]) -> String {
        Output.table(
            [["ID", "NAME", "VCPUS", "MEMORY", "DISK"]]
                + flavors.map { flavor in
                    [
                        "\(flavor.id)", flavor.name, "\(flavor.virtualCPUs)", Output.bytes(Double(flavor.memoryBytes)),
                        flavor.diskBytes == 0 ? "image's" : Output.bytes(Double(flavor.diskBytes)),
                    ]
                }
        )
    }

    static func imageTable(_ images: [CatalogReply.Image]) -> String {
        Output.table(
            [["ID", "NAME", "FORMAT", "SIZE", "DISK", "VMS", "SHA256", "PATH"]]
                + images.map { image in
                    [
                        "\(image.id)", image.name, image.format, Output.bytes(Double(image.sizeBytes)),
                        Output.bytes(Double(image.virtualSizeBytes)), "\(image.vmCount)",
                        String(image.sha256.prefix(12)), image.path,
                    ]
                }
        )
    }

    static func json(_ flavor: CatalogReply.Flavor) -> [String: Any] {
        [
            "id": Int(flavor.id), "name": flavor.name, "vcpus": Int(flavor.virtualCPUs),
            "memoryBytes": Int(clamping: flavor.memoryBytes), "diskBytes": Int(clamping: flavor.diskBytes),
        ]
    }

    static func json(_ image: CatalogReply.Image) -> [String: Any] {
        [
            "id": Int(image.id), "name": image.name, "path": image.path, "format": image.format,
            "sizeBytes": Int(clamping: image.sizeBytes), "virtualSizeBytes": Int(clamping: image.virtualSizeBytes),
            "sha256": image.sha256, "vms": Int(image.vmCount),
            "addedAt": TaskOutput.isoTime(image.addedAtUnixMilliseconds),
        ]
    }
}

extension ClusterClient {
    func catalog(_ request: ClusterRequest) async throws -> CatalogReply {
        let reply = try await self.request(request)
        guard case .catalogReply(let catalog) = reply else {
            throw session.unexpected(reply, expected: "CatalogReply")
        }
        return catalog
    }

    /// Prints a CommandResult's message, or fails with exit 1 naming the error.
    func result(_ request: ClusterRequest) async throws {
        let reply = try await self.request(request)
        guard case .commandResult(let result) = reply else {
            throw session.unexpected(reply, expected: "CommandResult")
        }
        guard result.isOK else {
            throw session.failure("\(result.code): \(result.message)", code: TorporExit.failed)
        }
        if options.json {
            Output.printJSON(["message": result.message])
        } else {
            print(result.message)
        }
    }
}
