import Foundation
import Testing

@testable import Manager

/// RSpecs v3 and URNs: the advertisement and manifest read back with the strict parser and carry what clients
/// look for; requests are read with their optional parts, and bad ones are BADARGS naming why.
@Suite struct RSpecTests {
    static let generated = Date(timeIntervalSince1970: 1_796_320_800)

    @Test func anAdvertisementListsHostsWithSliverTypesAndImages() throws {
        let xml = RSpec.advertisement(
            nodes: [.init(hostID: "host-1", available: true), .init(hostID: "host-2", available: false)],
            sliverTypes: ["small", "large"],
            images: ["debian-12"],
            authority: "torpor.example",
            availableOnly: false,
            generated: Self.generated
        )
        let root = try TemplateXMLParser.parse(xml)
        #expect(root.name == "rspec" && root.attribute("type") == "advertisement")
        #expect(root.attribute("xmlns") == RSpec.namespace)
        #expect(root.attribute("xsi:schemaLocation") == "\(RSpec.namespace) \(RSpec.namespace)/ad.xsd")
        #expect(root.attribute("generated") == "2026-12-03T18:00:00Z")
        let nodes = root.elements(named: "node")
        #expect(nodes.map { $0.attribute("component_id") } == [
            "urn:publicid:IDN+torpor.example+node+host-1", "urn:publicid:IDN+torpor.example+node+host-2",
        ])
        #expect(nodes.first?.elements(named: "sliver_type").map { $0.attribute("name") } == ["small", "large"])
        #expect(nodes.first?.firstElement(named: "sliver_type")?.firstElement(named: "disk_image")?.attribute("name") == "debian-12")
        #expect(nodes.map { $0.firstElement(named: "available")?.attribute("now") } == ["true", "false"])
        let available = RSpec.advertisement(
            nodes: [.init(hostID: "host-1", available: true), .init(hostID: "host-2", available: false)],
            sliverTypes: [],
            images: [],
            authority: "a",
            availableOnly: true,
            generated: Self.generated
        )
        #expect(try TemplateXMLParser.parse(available).elements(named: "node").count == 1)
    }

    @Test func aRequestIsReadWithItsOptionalParts() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <rspec type="request" xmlns="http://www.geni.net/resources/rspec/3"
                   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
              <node client_id="node-1" exclusive="false"
                    component_id="urn:publicid:IDN+torpor.example+node+host-1">
                <sliver_type name="small"><disk_image name="debian-12"/></sliver_type>
              </node>
              <node client_id="node-2"><sliver_type name="large"/></node>
            </rspec>
            """
        let nodes = try RSpec.parseRequest(xml)
        #expect(nodes == [
            .init(clientID: "node-1", componentID: "urn:publicid:IDN+torpor.example+node+host-1", sliverType: "small",
                diskImage: "debian-12"),
            .init(clientID: "node-2", componentID: nil, sliverType: "large", diskImage: nil),
        ])
    }

    struct BadRow: Sendable, CustomTestStringConvertible {
        var name: String
        var xml: String
        var message: String
        var testDescription: String { name }
    }

    static let bad: [BadRow] = [
        BadRow(name: "malformed", xml: "<rspec type='request'><node>", message: "not well-formed XML"),
        BadRow(name: "empty text", xml: "", message: "not well-formed XML"),
        BadRow(name: "no nodes", xml: "<rspec type='request'/>", message: "has no <node>"),
        BadRow(name: "another root", xml: "<foo/>", message: "expected <rspec>"),
        BadRow(name: "a manifest", xml: "<rspec type='manifest'/>", message: "expected 'request'"),
        BadRow(name: "no client_id", xml: "<rspec type='request'><node><sliver_type name='s'/></node></rspec>",
            message: "has no client_id"),
        BadRow(name: "a bad client_id",
            xml: "<rspec type='request'><node client_id='a b'><sliver_type name='s'/></node></rspec>",
            message: "is not 1–64"),
        BadRow(name: "a client_id twice",
            xml: "<rspec type='request'><node client_id='a'><sliver_type name='s'/></node>"
                + "<node client_id='a'><sliver_type name='s'/></node></rspec>",
            message: "appears twice"),
        BadRow(name: "no sliver type", xml: "<rspec type='request'><node client_id='a'/></rspec>",
            message: "exactly one <sliver_type"),
        BadRow(name: "two images",
            xml: "<rspec type='request'><node client_id='a'><sliver_type name='s'><disk_image name='x'/>"
                + "<disk_image name='y'/></sliver_type></node></rspec>",
            message: "names 2 disk images"),
    ]

    @Test(arguments: bad) func badRequestsAreBadArgs(_ row: BadRow) {
        #expect {
            _ = try RSpec.parseRequest(row.xml)
        } throws: { error in
            guard let failure = error as? GENIFailure else { return false }
            return failure.code == .badArgs && failure.message.contains(row.message)
        }
    }

    @Test func aManifestGivesSliverIDsAndLogins() throws {
        let xml = RSpec.manifest(
            nodes: [
                .init(clientID: "node-1", sliverID: "urn:publicid:IDN+torpor.example+sliver+slice-s-1-node-1",
                    componentID: "urn:publicid:IDN+torpor.example+node+host-1", sliverType: "small",
                    diskImage: "debian-12", address: "10.42.0.7", username: "alice"),
                .init(clientID: "node-2", sliverID: "urn:publicid:IDN+torpor.example+sliver+x", componentID: nil,
                    sliverType: "small", diskImage: nil, address: nil, username: "alice"),
            ],
            authority: "torpor.example",
            generated: Self.generated
        )
        let root = try TemplateXMLParser.parse(xml)
        #expect(root.attribute("type") == "manifest")
        let nodes = root.elements(named: "node")
        #expect(nodes.map { $0.attribute("sliver_id") } == [
            "urn:publicid:IDN+torpor.example+sliver+slice-s-1-node-1", "urn:publicid:IDN+torpor.example+sliver+x",
        ])
        let login = nodes.first?.firstElement(named: "services")?.firstElement(named: "login")
        #expect(login?.attribute("hostname") == "10.42.0.7")
        #expect(login?.attribute("username") == "alice")
        #expect(login?.attribute("authentication") == "ssh-keys")
        #expect(nodes.last?.firstElement(named: "services") == nil)
    }

    @Test func urnsParseAndNameClusters() {
        let slice = GENIURN(parsing: "urn:publicid:IDN+ch.geni.net:proj+slice+my slice")
        #expect(slice == GENIURN(authority: "ch.geni.net:proj", type: "slice", name: "my slice"))
        #expect(slice?.description == "urn:publicid:IDN+ch.geni.net:proj+slice+my slice")
        #expect(GENIURN(parsing: "URN:PUBLICID:IDN+a+slice+b")?.name == "b")
        for bad in ["", "urn:publicid:IDN+a+slice", "urn:publicid:IDN++slice+b", "slice+b", "urn:x:IDN+a+b+c"] {
            #expect(GENIURN(parsing: bad) == nil, "\(bad)")
        }
        let cluster = slice?.clusterName ?? ""
        #expect(cluster.hasPrefix("slice-my-slice-"))
        #expect(DomainTemplate.isValidName(cluster))
        let elsewhere = GENIURN(authority: "other", type: "slice", name: "my slice").clusterName
        #expect(elsewhere != cluster)
        #expect(DomainTemplate.isValidName(GENIURN(authority: "a", type: "slice", name: String(repeating: "é", count: 90)).clusterName))
    }

    @Test func repliesHaveTheAPIShape() {
        #expect(GENIReply.success("x", output: "") == ["code": ["geni_code": 0], "value": "x", "output": ""])
        let failure = GENIReply.failure(GENIFailure(.searchFailed, "no slice"))
        #expect(failure["code"]?["geni_code"] == 12)
        #expect(failure["output"] == "no slice")
        #expect(GENICode.alreadyExists.rawValue == 17 && GENICode.expired.rawValue == 15)
    }
}
