/// Snooze's JSON objects, with Snooze's field names (seeds 000 and 001; docs/snooze-api.md). Capacities are Snooze's
/// 4-vectors `[cpu cores, memory KiB, network rx KiB/s, network tx KiB/s]`.
enum Snooze {
    struct NetworkAddress: Codable, Equatable, Sendable {
        var address: String
        var port: Int
    }

    struct ListenSettings: Encodable, Sendable {
        var controlDataAddress: NetworkAddress
        var monitoringDataAddress: NetworkAddress
    }

    struct VirtualMachineLocation: Encodable, Sendable {
        var virtualMachineId: String
        var localControllerId: String
        var groupManagerId: String
        var groupManagerControlDataAddress: NetworkAddress
        var localControllerControlDataAddress: NetworkAddress
    }

    struct VirtualMachineMetaData: Encodable, Sendable {
        var status: String
        var virtualMachineLocation: VirtualMachineLocation
        /// Snooze's monitoring history by timestamp; Torpor keeps monitoring in its own ring buffers (empty).
        var usedCapacity: [String: [Double]] = [:]
        var requestedCapacity: [Double]
        var ipAddress: String
        var errorCode: String
        var groupManagerControlDataAddress: NetworkAddress
        var xmlRepresentation: String
    }

    struct HypervisorSettings: Encodable, Sendable {
        struct Migration: Encodable, Sendable {
            var method: String
            var timeout: Int
        }

        var port: Int
        var driver: String
        var transport: String
        var migration: Migration
    }

    struct WakeupSettings: Encodable, Sendable {
        var driver: String
        /// Never the BMC credentials: Snooze printed them here, Torpor does not.
        var options: String
    }

    /// Snooze's ReconfigurationPlan (the RECONFIGURATION event's message): `mapping` from each VM's id to the local
    /// controller it goes to, and the plan's counts.
    struct ReconfigurationPlan: Encodable, Sendable {
        var mapping: [String: String]
        var numberOfMigrations: Int
        var numberOfReleasedNodes: Int
    }

    struct LocalControllerDescription: Encodable, Sendable {
        var id: String
        var hostname: String
        var controlDataAddress: NetworkAddress
        var status: String
        var hypervisorSettings: HypervisorSettings
        var totalCapacity: [Double]
        var virtualMachineMetaData: [String: VirtualMachineMetaData]
        var wakeupSettings: WakeupSettings
        var assignedVirtualMachines: [VirtualMachineMetaData] = []
    }

    struct Summary: Encodable, Sendable {
        var timeStamp: Int64
        var usedCapacity: [Double]
        var requestedCapacity: [Double]
        var localControllers: [String] = []
        var activeCapacity: [Double]
        var passiveCapacity: [Double]
        var legacyIpAddresses: [String] = []
    }

    struct GroupManagerDescription: Encodable, Sendable {
        var id: String
        var hostname: String
        var listenSettings: ListenSettings
        var localControllers: [String: LocalControllerDescription]
        var heartbeatAddress: NetworkAddress
        var summaryInformation: [String: Summary]
        var virtualMachines: [VirtualMachineMetaData] = []
    }

    struct GroupLeaderRepositoryInformation: Encodable, Sendable {
        var groupManagerDescriptions: [GroupManagerDescription]
    }

    struct GroupManagerRepositoryInformation: Encodable, Sendable {
        var localControllerDescriptions: [LocalControllerDescription]
    }

    struct LocalControllerList: Encodable, Sendable {
        var localControllers: [LocalControllerDescription]
    }

    /// `getVirtualClusterResponse`'s answer once the submission has ended. `errorCode` is written as `null` when
    /// absent, as Snooze did.
    struct VirtualClusterResponse: Encodable, Sendable {
        var errorCode: String?
        var virtualMachineMetaData: [VirtualMachineMetaData]

        enum CodingKeys: String, CodingKey { case errorCode, virtualMachineMetaData }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            if let errorCode {
                try container.encode(errorCode, forKey: .errorCode)
            } else {
                try container.encodeNil(forKey: .errorCode)
            }
            try container.encode(virtualMachineMetaData, forKey: .virtualMachineMetaData)
        }
    }

    // MARK: Request bodies

    struct NetworkDemand: Decodable, Sendable {
        var rxBytes: Double?
        var txBytes: Double?
    }

    struct VirtualMachineTemplate: Decodable, Sendable {
        var libVirtTemplate: String
        var networkCapacityDemand: NetworkDemand?
    }

    struct VirtualClusterSubmissionRequest: Decodable, Sendable {
        var virtualMachineTemplates: [VirtualMachineTemplate]
    }

    /// A VM location as clients send it back: only the VM id decides; the rest is what an earlier reply said.
    struct LocationRequest: Decodable, Sendable {
        var virtualMachineId: String
        var localControllerId: String?
        var groupManagerId: String?
    }

    struct MigrationRequest: Decodable, Sendable {
        var sourceVirtualMachineLocation: LocationRequest
        var destinationVirtualMachineLocation: DestinationRequest
        var migrated: Bool?

        /// The destination names a local controller; its VM id may be another VM's (libcloud passes the location
        /// of a VM already on the destination host).
        struct DestinationRequest: Decodable, Sendable {
            var localControllerId: String
        }
    }
}
