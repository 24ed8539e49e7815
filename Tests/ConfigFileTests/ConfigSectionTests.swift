import Testing

@testable import ConfigFile

@Suite struct ConfigSectionTests {
    @Test func readsTypedValuesAndNestedSections() throws {
        let config = try ConfigSection(
            yaml: """
                host_id: host-7
                sample_interval: 500ms
                ring_capacity: 60
                power:
                  suspend_to_ram: [/usr/bin/true, --flag]
                  timeout: 2m
                """,
            file: "agent.yaml"
        )
        #expect(try config.string("host_id") == "host-7")
        #expect(try config.duration("sample_interval") == .milliseconds(500))
        #expect(try config.int("ring_capacity", in: 1...10_000) == 60)
        let power = try #require(try config.section("power"))
        #expect(try power.stringList("suspend_to_ram") == ["/usr/bin/true", "--flag"])
        #expect(try power.duration("timeout") == .seconds(120))
        #expect(try config.string("absent") == nil)
        try config.rejectUnknownKeys()
    }

    @Test func unknownKeyNamesKeyLineAndSuggestion() throws {
        let config = try ConfigSection(yaml: "host_id: a\nsample_intervall: 3s\n", file: "agent.yaml")
        _ = try config.string("host_id")
        _ = try config.duration("sample_interval")
        let error = try #require(throws: ConfigError.self) { try config.rejectUnknownKeys() }
        #expect(error.key == "sample_intervall")
        #expect(error.line == 2)
        #expect(error.description == "agent.yaml:2: sample_intervall: unknown key (did you mean 'sample_interval'?)")
    }

    @Test func unknownKeyInsideSectionHasDottedPath() throws {
        let config = try ConfigSection(yaml: "power:\n  timeout: 3s\n  suspend: [x]\n", file: "f.yaml")
        let power = try #require(try config.section("power"))
        _ = try power.duration("timeout")
        let error = try #require(throws: ConfigError.self) { try config.rejectUnknownKeys() }
        #expect(error.key == "power.suspend")
    }

    @Test(arguments: [
        ("ring_capacity: many", "ring_capacity", "expected a whole number"),
        ("ring_capacity: 0", "ring_capacity", "outside 1...10000"),
        ("sample_interval: soon", "sample_interval", "expected a duration"),
        ("verbose: maybe", "verbose", "expected true or false"),
    ])
    func badValuesNameTheKey(yaml: String, key: String, problem: String) throws {
        let config = try ConfigSection(yaml: yaml, file: "agent.yaml")
        let error = try #require(throws: ConfigError.self) {
            _ = try config.int("ring_capacity", in: 1...10_000)
            _ = try config.duration("sample_interval")
            _ = try config.bool("verbose")
        }
        #expect(error.key == key)
        #expect(error.description.contains(problem))
        #expect(error.line == 1)
    }

    @Test func duplicateKeyAndNonMappingAreRejected() throws {
        #expect(throws: ConfigError.self) { try ConfigSection(yaml: "a: 1\na: 2\n", file: "f") }
        let error = try #require(throws: ConfigError.self) { try ConfigSection(yaml: "- a\n- b\n", file: "f") }
        #expect(error.problem.contains("mapping"))
        #expect(throws: ConfigError.self) { try ConfigSection(yaml: "a: [unclosed\n", file: "f") }
    }

    @Test func emptyFileIsEmptyMappingAndMissingFileIsNamed() throws {
        try ConfigSection(yaml: "", file: "f").rejectUnknownKeys()
        let error = try #require(throws: ConfigError.self) { try ConfigSection(contentsOf: "/nonexistent/agent.yaml") }
        #expect(error.description.contains("/nonexistent/agent.yaml"))
    }

    @Test(arguments: [("3", 3000), ("3s", 3000), ("250ms", 250), ("2m", 120_000), ("1.5h", 5_400_000)])
    func durations(text: String, milliseconds: Int64) {
        #expect(ConfigSection.parseDuration(text) == .milliseconds(milliseconds))
    }

    /// Before the fix, `1e17s` trapped converting to Int64 instead of failing with the key's name.
    @Test(arguments: ["1e17s", "1e17", "9223372036854775807ms", "1e300h", "9000h", "1e9m"])
    func absurdDurationsAreErrorsNamingTheKey(text: String) throws {
        let config = try ConfigSection(yaml: "sample_interval: \(text)\n", file: "agent.yaml")
        let error = try #require(throws: ConfigError.self) { try config.duration("sample_interval") }
        #expect(error.key == "sample_interval")
        #expect(error.line == 1)
        #expect(ConfigSection.parseDuration(text) == nil)
    }

    @Test func durationsAreBoundedByAMaximum() throws {
        let config = try ConfigSection(yaml: "b: 9000h\nc: 2h\n", file: "f.yaml")
        let tooLong = try #require(throws: ConfigError.self) { try config.duration("b") }
        #expect(tooLong.problem == "9000h is longer than the maximum 366 days")
        let overCustom = try #require(throws: ConfigError.self) { try config.duration("c", maximum: .seconds(3600)) }
        #expect(overCustom.problem.contains("longer than the maximum"))
        #expect(try config.duration("c", maximum: .seconds(7200)) == .seconds(7200))
        #expect(ConfigSection.parseDuration("8784h") == ConfigSection.longestDuration)
        #expect(ConfigSection.parseDuration("8784.1h") == nil)
    }
}
