import ConfigFile
import Testing

@testable import Manager

/// The seed's files are what cloud-init reads: YAML that parses to the VM's identity, address and keys, however odd
/// the values.
@Suite struct NoCloudSeedTests {
    static let seed = NoCloudSeed(
        instanceID: "0b7e9c1a-54f1-4c38-9a0e-2f6d1e0c9b11",
        hostname: "web-1",
        macAddress: "52:54:00:a8:7a:0a",
        address: IPv4Address(192, 168, 122, 10),
        prefixLength: 24,
        gateway: IPv4Address(192, 168, 122, 1),
        sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 alice@lab", "ssh-rsa AAAAB3Nza \"quoted\" \\ comment: # not"]
    )

    @Test func metaDataNamesTheInstanceAndHost() throws {
        let meta = try ConfigSection(yaml: Self.seed.metaData, file: "meta-data")
        #expect(try meta.string("instance-id") == Self.seed.instanceID)
        #expect(try meta.string("local-hostname") == "web-1")
        try meta.rejectUnknownKeys()
    }

    @Test func userDataIsCloudConfigWithTheKeysAsWritten() throws {
        #expect(Self.seed.userData.hasPrefix("#cloud-config\n"))
        let user = try ConfigSection(yaml: Self.seed.userData, file: "user-data")
        #expect(try user.string("hostname") == "web-1")
        #expect(try user.bool("preserve_hostname") == false)
        #expect(try user.stringList("ssh_authorized_keys") == Self.seed.sshKeys)
        try user.rejectUnknownKeys()
    }

    @Test func networkConfigGivesTheLeaseToTheInterfaceWithTheMAC() throws {
        let network = try ConfigSection(yaml: Self.seed.networkConfig, file: "network-config")
        #expect(try network.int("version") == 2)
        let primary = try #require(try network.section("ethernets")?.section("primary"))
        #expect(try primary.section("match")?.string("macaddress") == "52:54:00:a8:7a:0a")
        #expect(try primary.stringList("addresses") == ["192.168.122.10/24"])
        #expect(try primary.section("nameservers")?.stringList("addresses") == ["192.168.122.1"])
        #expect(Self.seed.networkConfig.contains("via: \"192.168.122.1\""))
    }

    @Test func noGatewayMeansNoRouteAndNoNameserver() throws {
        var seed = Self.seed
        seed.gateway = nil
        let network = try ConfigSection(yaml: seed.networkConfig, file: "network-config")
        let primary = try #require(try network.section("ethernets")?.section("primary"))
        #expect(try primary.section("nameservers") == nil)
        #expect(!seed.networkConfig.contains("routes"))
    }

    @Test func extraFilesJoinButCannotReplaceTheStandardOnes() {
        var seed = Self.seed
        seed.extraFiles = ["vc-out.xml": "<vc/>", "meta-data": "instance-id: hijacked"]
        #expect(seed.files.map(\.name) == ["meta-data", "network-config", "user-data", "vc-out.xml"])
        #expect(seed.files.first { $0.name == "meta-data" }?.contents == seed.metaData)
    }

    @Test func controlCharactersAreEscaped() throws {
        var seed = Self.seed
        seed.hostname = "a\u{1}b\nc"
        let meta = try ConfigSection(yaml: seed.metaData, file: "meta-data")
        #expect(try meta.string("local-hostname") == "a\u{1}b\nc")
    }
}
