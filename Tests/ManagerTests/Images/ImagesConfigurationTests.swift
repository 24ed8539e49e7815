import ConfigFile
import Testing

@testable import Manager

/// The manager's `images:` section.
@Suite struct ImagesConfigurationTests {
    @Test func defaults() throws {
        let images = try ManagerConfiguration.load(yaml: "", file: "manager.yaml").images
        #expect(images == ImagesConfiguration())
        #expect(images.directory == "/var/lib/torpor/images")
        #expect(images.network == "default")
        #expect(images.interfaceType == .network)
        #expect(images.domainType == "kvm")
        #expect(images.qemuImg == "qemu-img")
        #expect(images.isoBuilder == "genisoimage")
        #expect(images.commandTimeout == .seconds(600))
        #expect(images.nameservers.isEmpty)
        #expect(images.roots.isEmpty)
    }

    @Test func everyKey() throws {
        let images = try ManagerConfiguration.load(
            yaml: """
                images:
                  directory: /srv/torpor/vms
                  network: lab
                  interface_type: bridge
                  domain_type: qemu
                  qemu_img: /usr/local/bin/qemu-img
                  iso_builder: xorriso
                  checksum: /usr/bin/sha256sum
                  command_timeout: 20m
                  nameservers: [9.9.9.9, 192.168.122.1]
                  roots: [/srv/images, /mnt/shared/images]
                """,
            file: "manager.yaml"
        ).images
        #expect(images.directory == "/srv/torpor/vms")
        #expect(images.network == "lab")
        #expect(images.interfaceType == .bridge)
        #expect(images.domainType == "qemu")
        #expect(images.qemuImg == "/usr/local/bin/qemu-img")
        #expect(images.isoBuilder == "xorriso")
        #expect(images.checksum == "/usr/bin/sha256sum")
        #expect(images.commandTimeout == .seconds(1200))
        #expect(images.nameservers == [IPv4Address(9, 9, 9, 9), IPv4Address(192, 168, 122, 1)])
        #expect(images.roots == ["/srv/images", "/mnt/shared/images"])
    }

    @Test(
        arguments: [
            ("images:\n  directory: relative/path", "images.directory", 2),
            ("images:\n  domain_type: xen", "images.domain_type", 2),
            ("images:\n  command_timeout: 0s", "images.command_timeout", 2),
            ("images:\n  nameservers: [not-an-ip]", "images.nameservers", 2),
            ("images:\n  netwrok: lab", "images.netwrok", 2),
            ("images:\n  roots: [images]", "images.roots", 2),
            ("images:\n  interface_type: macvtap", "images.interface_type", 2),
        ]
    )
    func badValuesNameTheKeyAndLine(yaml: String, key: String, line: Int) {
        do {
            _ = try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
            Issue.record("accepted: \(yaml)")
        } catch let error as ConfigError {
            #expect(error.key == key, "\(error)")
            #expect(error.line == line, "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
