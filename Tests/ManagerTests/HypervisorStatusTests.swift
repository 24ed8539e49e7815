import Logging
import Testing
import Wire

@testable import Manager

/// An agent's HypervisorStatus on the manager side: the registry keeps what the agent said until it says its
/// libvirtd answers again or rejoins, and every view of the host shows it (`torpor hosts`, the leader's hosts).
@Suite struct ManagerHypervisorStatusTests {
    @Test func theRegistryKeepsTheProblemUntilTheAgentSaysOtherwiseOrRejoins() async {
        let logger = Logger(label: "test")
        let registry = HostRegistry(ringCapacity: 4, logger: logger)
        let session = AgentSession(registry: registry, observer: nil, logger: logger)
        let start = ContinuousClock.now
        await registry.join(HostRegistryTests.agent("h1"), at: start)
        await registry.join(HostRegistryTests.agent("h2"), at: start)

        await session.handle(.hypervisorStatus(.unreachable("libvirtd down")), from: "h1", logger: logger)
        #expect(await registry.host("h1")?.hypervisorProblem == "libvirtd down")
        #expect(await registry.host("h2")?.hypervisorProblem == nil)
        // Every view: the status rows, the group manager's hosts (what placement reads).
        let rows = await registry.statusHosts(at: start)
        #expect(rows.map(\.hypervisorProblem) == ["libvirtd down", nil])
        let managed = await GroupManager(registry: registry, logger: logger).hosts()
        #expect(managed.map(\.hypervisorProblem) == ["libvirtd down", nil])
        // The same word twice changes nothing; a new problem replaces the old one.
        #expect(await registry.record(.unreachable("libvirtd down"), from: "h1") == false)
        #expect(await registry.record(.unreachable("socket gone"), from: "h1") == true)
        #expect(await registry.host("h1")?.hypervisorProblem == "socket gone")

        // Back: the agent says so.
        await session.handle(.hypervisorStatus(.answering), from: "h1", logger: logger)
        #expect(await registry.host("h1")?.hypervisorProblem == nil)

        // A rejoin forgets it: an agent whose libvirtd still does not answer says it again after its hello.
        await session.handle(.hypervisorStatus(.unreachable("down")), from: "h2", logger: logger)
        await registry.join(HostRegistryTests.agent("h2"), at: start + .seconds(5))
        #expect(await registry.host("h2")?.hypervisorProblem == nil)

        // A host the registry does not know is ignored.
        #expect(await registry.record(.unreachable("down"), from: "nobody") == false)
        #expect(await registry.host("nobody") == nil)
    }
}
