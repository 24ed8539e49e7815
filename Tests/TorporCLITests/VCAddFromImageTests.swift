import ArgumentParser
import Testing

@testable import TorporCLI

/// `torpor vc add --flavor --image` and `torpor flavor create`'s parsing, without a manager.
@Suite struct VCAddFromImageTests {
    @Test func sizesTakeBinaryUnits() {
        #expect(ByteSize.parse("1048576") == 1 << 20)
        #expect(ByteSize.parse("512M") == 512 << 20)
        #expect(ByteSize.parse("2GiB") == 2 << 30)
        #expect(ByteSize.parse("10g") == 10 << 30)
        #expect(ByteSize.parse("1T") == 1 << 40)
        #expect(ByteSize.parse("0") == 0)
        for bad in ["", "M", "1.5G", "-1G", "12 parsecs", "99999999999999999999", "17179869184T"] {
            #expect(ByteSize.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func namesWithoutNameFollowTheClusterSkippingTakenOnes() {
        #expect(VCAdd.freeNames(cluster: "web", count: 3, taken: []) == ["web-1", "web-2", "web-3"])
        #expect(VCAdd.freeNames(cluster: "web", count: 2, taken: ["web-1", "web-3"]) == ["web-2", "web-4"])
    }

    @Test func keyFilesGiveTheirKeyLines() {
        let file = """
            # team keys

            ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 alice@lab
              ssh-rsa AAAAB3NzaC1yc2E bob@lab  \n
            """
        #expect(
            VCAdd.publicKeys(in: file) == [
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 alice@lab", "ssh-rsa AAAAB3NzaC1yc2E bob@lab",
            ]
        )
    }

    @Test func flagsThatDoNotGoTogetherAreUsageErrors() throws {
        #expect(throws: (any Error).self) { try VCAdd.parse(["web", "--flavor", "small"]) }
        #expect(throws: (any Error).self) { try VCAdd.parse(["web", "t.xml", "--flavor", "small", "--image", "deb"]) }
        #expect(throws: (any Error).self) { try VCAdd.parse(["web", "t.xml", "--ssh-key", "k.pub"]) }
        #expect(throws: (any Error).self) { try VCAdd.parse(["web"]) }
        let parsed = try VCAdd.parse(["web", "--flavor", "small", "--image", "deb", "--count", "3"])
        #expect(parsed.flavor == "small")
        #expect(parsed.image == "deb")
        #expect(parsed.count == 3)
        #expect(parsed.templates.isEmpty)
    }
}
