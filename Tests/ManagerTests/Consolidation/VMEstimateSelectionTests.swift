import Placement
import Testing

@testable import Manager

/// The rule the registry and the leader's remote group managers share for which host's samples estimate a VM.
struct VMEstimateSelectionTests {
    struct Listing: Sendable, CustomTestStringConvertible {
        var hostID: String
        var active: Bool
        var cpu: [Double]
        var testDescription: String { "\(hostID)\(active ? "" : " (inactive)"): \(cpu)" }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var listings: [Listing]
        /// nil: no estimate.
        var host: String?
        var cpu: Double?
        var samples: Int?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "listed nowhere: no estimate", listings: [], host: nil, cpu: nil, samples: nil),
        Case(
            name: "one host: the mean of its samples",
            listings: [Listing(hostID: "h1", active: true, cpu: [1, 3])],
            host: "h1",
            cpu: 2,
            samples: 2
        ),
        Case(
            name: "listed without samples: what it asked for",
            listings: [Listing(hostID: "h1", active: true, cpu: [])],
            host: "h1",
            cpu: 4,
            samples: 0
        ),
        Case(
            name: "the host running it wins over one that lists it stopped, whichever comes first",
            listings: [
                Listing(hostID: "h1", active: false, cpu: [0.5]),
                Listing(hostID: "h2", active: true, cpu: []),
            ],
            host: "h2",
            cpu: 4,
            samples: 0
        ),
        Case(
            name: "a host running it is not replaced by one listing it stopped",
            listings: [
                Listing(hostID: "h1", active: true, cpu: [2]),
                Listing(hostID: "h2", active: false, cpu: [3]),
            ],
            host: "h1",
            cpu: 2,
            samples: 1
        ),
        Case(
            name: "listed only stopped: the first such host",
            listings: [
                Listing(hostID: "h1", active: false, cpu: [1]),
                Listing(hostID: "h2", active: false, cpu: [3]),
            ],
            host: "h1",
            cpu: 1,
            samples: 1
        ),
    ]

    @Test(arguments: cases) func choice(_ example: Case) {
        let requested = ResourceVector(cpuCores: 4, memoryBytes: 0)
        var selection = VMEstimateSelection(requested: ["vm": requested])
        for listing in example.listings {
            selection.offer(
                "vm",
                active: listing.active,
                hostID: listing.hostID,
                samples: listing.cpu.map { ResourceVector(cpuCores: $0, memoryBytes: 0) }
            )
            // A VM nobody asked for is never chosen.
            selection.offer("other", active: true, hostID: listing.hostID, samples: [])
        }
        let estimates = selection.estimates(by: Estimator(window: 10))
        #expect(estimates["other"] == nil)
        #expect(estimates["vm"]?.hostID == example.host)
        #expect(estimates["vm"]?.estimated.cpuCores == example.cpu)
        #expect(estimates["vm"]?.samples == example.samples)
    }
}
