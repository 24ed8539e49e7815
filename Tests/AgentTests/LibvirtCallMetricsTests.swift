import CoreMetrics
import Synchronization
import Testing

@testable import Agent
@testable import Libvirt

/// libvirt call metrics make one Timer per function, not one per call: several calls per VM per sample each made a
/// Timer, a label lookup under the registry's lock, and that was an eighth of the agent's CPU at 100 VMs.
@Suite struct LibvirtCallMetricsTests {
    @Test func oneTimerPerFunctionRecordsEveryCall() {
        let factory = CountingFactory()
        let metrics = AgentMetrics(factory: factory)
        for _ in 0..<1_000 {
            metrics.libvirtCall(
                LibvirtCallRecord(function: "virDomainGetInfo", duration: .microseconds(20), succeeded: true)
            )
            metrics.libvirtCall(
                LibvirtCallRecord(function: "virDomainIsActive", duration: .microseconds(5), succeeded: true)
            )
        }
        #expect(factory.timersMade == ["virDomainGetInfo": 1, "virDomainIsActive": 1])
        #expect(factory.recordings == ["virDomainGetInfo": 1_000, "virDomainIsActive": 1_000])
        #expect(factory.countersMade.isEmpty, "no error series for functions that never failed")
    }

    @Test func errorsGetOneCounterMadeAtTheFirstFailure() {
        let factory = CountingFactory()
        let metrics = AgentMetrics(factory: factory)
        for call in 0..<300 {
            let succeeded = call % 3 != 0
            metrics.libvirtCall(
                LibvirtCallRecord(function: "virDomainBlockStats", duration: .zero, succeeded: succeeded)
            )
        }
        #expect(factory.timersMade == ["virDomainBlockStats": 1])
        #expect(factory.recordings == ["virDomainBlockStats": 300])
        #expect(factory.countersMade == ["virDomainBlockStats": 1])
        #expect(factory.increments == ["virDomainBlockStats": 100])
    }
}

/// A metrics factory that counts what it is asked to make and what is recorded, by the `function` dimension.
private final class CountingFactory: MetricsFactory, Sendable {
    private struct Counts {
        var timersMade: [String: Int] = [:]
        var countersMade: [String: Int] = [:]
        var recordings: [String: Int] = [:]
        var increments: [String: Int] = [:]
    }

    private let counts = Mutex(Counts())

    var timersMade: [String: Int] { counts.withLock { $0.timersMade } }
    var countersMade: [String: Int] { counts.withLock { $0.countersMade } }
    var recordings: [String: Int] { counts.withLock { $0.recordings } }
    var increments: [String: Int] { counts.withLock { $0.increments } }

    private final class Handler: TimerHandler, CounterHandler, Sendable {
        let function: String
        let factory: CountingFactory

        init(function: String, factory: CountingFactory) {
            self.function = function
            self.factory = factory
        }

        func recordNanoseconds(_ duration: Int64) {
            factory.counts.withLock { $0.recordings[function, default: 0] += 1 }
        }

        func increment(by amount: Int64) {
            factory.counts.withLock { $0.increments[function, default: 0] += Int(amount) }
        }

        func reset() {}
    }

    private static func function(_ dimensions: [(String, String)]) -> String {
        dimensions.first { $0.0 == "function" }?.1 ?? ""
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let function = Self.function(dimensions)
        counts.withLock { $0.timersMade[function, default: 0] += 1 }
        return Handler(function: function, factory: self)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        let function = Self.function(dimensions)
        counts.withLock { $0.countersMade[function, default: 0] += 1 }
        return Handler(function: function, factory: self)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        NOOPMetricsHandler.instance.makeFloatingPointCounter(label: label, dimensions: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
}
