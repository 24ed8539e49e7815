import ConfigFile
import MetricsExport
import Testing

@Suite("MetricsConfiguration")
struct MetricsConfigurationTests {
    private func load(_ yaml: String) throws -> MetricsConfiguration {
        let root = try ConfigSection(yaml: yaml, file: "test.yaml")
        let section = try #require(try root.section("metrics"))
        let result = try MetricsConfiguration.load(section)
        try root.rejectUnknownKeys()
        return result
    }

    @Test("listen parses HOST:PORT, IPv6 in brackets, port 0")
    func listen() throws {
        #expect(try load("metrics:\n  listen: 127.0.0.1:9100\n").listen?.port == 9100)
        #expect(try load("metrics:\n  listen: 127.0.0.1:9100\n").listen?.host == "127.0.0.1")
        #expect(try load("metrics:\n  listen: \"[::1]:9101\"\n").listen?.host == "::1")
        #expect(try load("metrics:\n  listen: localhost:0\n").listen?.port == 0)
        #expect(try load("metrics: {}\n").listen == nil)
        #expect(MetricsConfiguration().listen == nil)
    }

    @Test(
        "bad values name the key and the line",
        arguments: [
            ("metrics:\n  listen: 9100\n", "metrics.listen", 2),
            ("metrics:\n  listen: host:99999\n", "metrics.listen", 2),
            ("metrics:\n  listen: \":9100\"\n", "metrics.listen", 2),
            ("metrics:\n  listen: [a, b]\n", "metrics.listen", 2),
            ("metrics:\n  listen: 127.0.0.1:9100\n  lisen: x\n", "metrics.lisen", 3),
        ]
    )
    func badValues(yaml: String, key: String, line: Int) throws {
        let error = try #require(throws: ConfigError.self) { try load(yaml) }
        #expect(error.key == key)
        #expect(error.line == line)
    }

    @Test("metrics must be a mapping")
    func notAMapping() throws {
        let root = try ConfigSection(yaml: "metrics: 127.0.0.1:9100\n", file: "test.yaml")
        let error = try #require(throws: ConfigError.self) { try root.section("metrics") }
        #expect(error.key == "metrics")
    }
}
