import Testing
import Transport

@Suite struct HostPortTests {
    @Test(arguments: [
        ("127.0.0.1:7701", "127.0.0.1", 7701),
        ("[::1]:7700", "::1", 7700),
        ("h3.lab:65535", "h3.lab", 65535),
    ])
    func parses(text: String, host: String, port: Int) throws {
        let parsed = try #require(HostPort(text))
        #expect(parsed == HostPort(host: host, port: port))
        #expect(HostPort(parsed.description) == parsed)
    }

    @Test(arguments: ["nowhere", ":7701", "host:", "host:65536", "host:-1", "host:seven", "[]:7701"])
    func rejects(text: String) {
        #expect(HostPort(text) == nil)
    }

    @Test func portZeroOnlyWhereSomethingListens() {
        #expect(HostPort("0.0.0.0:0") == nil)
        #expect(HostPort("0.0.0.0:0", allowsPortZero: true) == HostPort(host: "0.0.0.0", port: 0))
    }
}
