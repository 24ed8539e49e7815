import Testing

@testable import IPMIMonitoring

@Suite struct IPMITargetTests {
    @Test func passwordNeverAppearsInDescriptions() {
        let target = IPMITarget(
            host: "127.0.0.1:9623",
            user: "admin",
            password: "s3cret-pw",
            sdrCacheDirectory: "/tmp/x"
        )
        for text in [String(describing: target), String(reflecting: target), "\(target)"] {
            #expect(!text.contains("s3cret-pw"))
            #expect(text.contains("127.0.0.1:9623"))
        }
        var dumped = ""
        dump(target, to: &dumped)
        #expect(!dumped.contains("s3cret-pw"))
    }
}
