import Testing
import Wire

@testable import TorporCLI

/// `torpor vc add` splits many VMs into requests that each fit in a frame.
@Suite struct VCAddBatchTests {
    static func submissions(_ count: Int, templateBytes: Int) -> [ClusterRequest.VMSubmission] {
        let xml =
            "<domain type='kvm'><name>t</name><memory unit='MiB'>64</memory><!--"
            + String(repeating: "p", count: templateBytes) + "--></domain>"
        return (1...count).map { ClusterRequest.VMSubmission(templateXML: xml, nameOverride: "vm-\($0)") }
    }

    @Test func aThousandLargeVMsGoInRequestsUnderTheBudgetInOrder() throws {
        let submissions = Self.submissions(1000, templateBytes: 4000)
        let whole = VCAdd.payloadSize(.add(cluster: "web", vms: submissions))
        // The single request --count 1000 used to send: far over the 1 MiB frame limit.
        #expect(whole > WireFrameDecoder.defaultMaximumPayloadLength)
        let batches = try VCAdd.batches(cluster: "web", submissions, budget: VCAdd.requestByteBudget)
        #expect(batches.count > 1)
        #expect(batches.flatMap { Array($0) } == Array(0..<1000))
        for batch in batches {
            let size = VCAdd.payloadSize(.add(cluster: "web", vms: Array(submissions[batch])))
            #expect(size <= VCAdd.requestByteBudget, "\(batch)")
        }
        // Full batches: each but the last would overflow with one more VM.
        for batch in batches.dropLast() {
            let oneMore = VCAdd.payloadSize(
                .add(cluster: "web", vms: Array(submissions[batch.lowerBound...batch.upperBound]))
            )
            #expect(oneMore > VCAdd.requestByteBudget)
        }
    }

    @Test func aFewVMsStayInOneRequest() throws {
        #expect(
            try VCAdd.batches(cluster: "web", Self.submissions(3, templateBytes: 100), budget: VCAdd.requestByteBudget)
                == [0..<3]
        )
    }

    @Test func aTemplateTooLargeForAnyRequestIsNamed() {
        let submissions =
            Self.submissions(2, templateBytes: 10)
            + Self.submissions(1, templateBytes: WireFrameDecoder.defaultMaximumPayloadLength)
        #expect(throws: VCAdd.OversizeSubmission.self) {
            try VCAdd.batches(cluster: "web", submissions, budget: VCAdd.requestByteBudget)
        }
        do {
            _ = try VCAdd.batches(cluster: "web", submissions, budget: VCAdd.requestByteBudget)
        } catch {
            #expect(error.index == 2)
            #expect("\(error)".contains("over the \(VCAdd.requestByteBudget) bytes that fit in the 1 MiB frame limit"))
        }
    }

    @Test func mergedBatchesReadAsOneTask() {
        let statuses = (1...3).map { index in
            TaskStatus(
                id: "t\(index)",
                kind: "add",
                cluster: "web",
                state: .succeeded,
                message: "added",
                createdAtUnixMilliseconds: UInt64(index),
                updatedAtUnixMilliseconds: UInt64(index),
                outcomes: [.init(vm: "vm-\(index)", state: .done)]
            )
        }
        let merged = VCAdd.merged(statuses, cluster: "web")
        #expect(merged.outcomes.map(\.vm) == ["vm-1", "vm-2", "vm-3"])
        #expect(merged.state == .succeeded)
        #expect(merged.message == "added 3 VMs to web in 3 requests (tasks t1, t2, t3)")
        #expect(VCAdd.range(["a", "b"]) == "a, b")
        #expect(VCAdd.range((1...500).map { "vm-\($0)" }) == "vm-1 … vm-500 (500 VMs)")
    }
}
