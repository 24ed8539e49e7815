import Foundation
import Testing

@testable import Manager

/// The XML-RPC codec: what Python's xmlrpc.client writes is read, what we write reads back, and hostile input is an
/// error naming the problem, never a trap.
@Suite struct XMLRPCCodecTests {
    /// `xmlrpc.client.dumps(({'geni_rspec_version': {'type': 'GENI', 'version': '3'}, 'n': 7, 'on': True,
    /// 'when': DateTime('20261203T18:00:00'), 'blob': Binary(b'hi'), 'list': ['a', 1.5]},), 'ListResources',
    /// allow_none=True)` plus a `<nil/>` and a bare-text value.
    static let pythonCall = """
        <?xml version='1.0'?>
        <methodCall>
        <methodName>ListResources</methodName>
        <params>
        <param>
        <value><array><data>
        <value><string>cred&lt;1&gt;</string></value>
        </data></array></value>
        </param>
        <param>
        <value><struct>
        <member>
        <name>geni_rspec_version</name>
        <value><struct>
        <member>
        <name>type</name>
        <value><string>GENI</string></value>
        </member>
        <member>
        <name>version</name>
        <value><string>3</string></value>
        </member>
        </struct></value>
        </member>
        <member>
        <name>n</name>
        <value><int>7</int></value>
        </member>
        <member>
        <name>on</name>
        <value><boolean>1</boolean></value>
        </member>
        <member>
        <name>when</name>
        <value><dateTime.iso8601>20261203T18:00:00</dateTime.iso8601></value>
        </member>
        <member>
        <name>blob</name>
        <value><base64>
        aGk=
        </base64></value>
        </member>
        <member>
        <name>list</name>
        <value><array><data>
        <value><string>a</string></value>
        <value><double>1.5</double></value>
        </data></array></value>
        </member>
        <member>
        <name>none</name>
        <value><nil/></value>
        </member>
        <member>
        <name>bare</name>
        <value>plain text</value>
        </member>
        </struct></value>
        </param>
        </params>
        </methodCall>
        """

    @Test func readsWhatPythonWrites() throws {
        let call = try XMLRPCCodec.decodeCall(Self.pythonCall)
        #expect(call.method == "ListResources")
        #expect(call.parameters.count == 2)
        #expect(call.parameters[0] == ["cred<1>"])
        let options = call.parameters[1]
        #expect(options["geni_rspec_version"] == ["type": "GENI", "version": "3"])
        #expect(options["n"] == 7)
        #expect(options["on"] == true)
        #expect(options["when"] == .dateTime(Date(timeIntervalSince1970: 1_796_320_800)))
        #expect(options["blob"] == .base64(Array("hi".utf8)))
        #expect(options["list"] == ["a", .double(1.5)])
        #expect(options["none"] == .null)
        #expect(options["bare"] == "plain text")
    }

    @Test func responsesAndCallsRoundTrip() throws {
        let value: XMLRPCValue = [
            "code": ["geni_code": 0, "am_type": "torpor"],
            "value": .array([.string("<rspec/> & \"quotes\""), .int(Int(Int32.max) + 1), .int(-5), .double(-0.25)]),
            "output": "",
            "when": .dateTime(Date(timeIntervalSince1970: 1_796_320_800)),
            "zipped": .base64([0, 255, 1, 2]),
            "empty": .array([]),
            "nothing": .structure([:]),
            "none": .null,
            "flag": false,
        ]
        #expect(try XMLRPCCodec.decodeResponse(XMLRPCCodec.encode(.value(value))) == .value(value))
        let fault = XMLRPCResponse.fault(code: 2, message: "bad <args>")
        #expect(try XMLRPCCodec.decodeResponse(XMLRPCCodec.encode(fault)) == fault)
        let call = XMLRPCMethodCall(method: "Allocate", parameters: ["urn:publicid:IDN+x+slice+s", [], value])
        #expect(try XMLRPCCodec.decodeCall(XMLRPCCodec.encode(call)) == call)
    }

    struct HostileRow: Sendable, CustomTestStringConvertible {
        var name: String
        var xml: String
        var message: String
        var testDescription: String { name }
    }

    static func call(_ value: String) -> String {
        "<methodCall><methodName>m</methodName><params><param><value>\(value)</value></param></params></methodCall>"
    }

    static let hostile: [HostileRow] = [
        HostileRow(name: "not XML", xml: "GET / HTTP/1.1", message: "malformed XML"),
        HostileRow(name: "empty", xml: "", message: "malformed XML"),
        HostileRow(name: "unclosed", xml: "<methodCall><methodName>m</methodName>", message: "malformed XML"),
        HostileRow(
            name: "a DOCTYPE (entity expansion)",
            xml: "<!DOCTYPE x [<!ENTITY a 'aaaa'>]><methodCall><methodName>&a;</methodName></methodCall>",
            message: "malformed XML"
        ),
        HostileRow(name: "another root", xml: "<methodResponse/>", message: "expected <methodCall>"),
        HostileRow(name: "no method name", xml: "<methodCall><params/></methodCall>", message: "no <methodName>"),
        HostileRow(name: "an empty method name", xml: "<methodCall><methodName> </methodName></methodCall>",
            message: "<methodName> is empty"),
        HostileRow(name: "two method names",
            xml: "<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>",
            message: "2 <methodName> elements"),
        HostileRow(name: "a stray element", xml: "<methodCall><methodName>a</methodName><x/></methodCall>",
            message: "<x> is not allowed in <methodCall>"),
        HostileRow(name: "an unknown type", xml: call("<float>1</float>"), message: "<float> is not an XML-RPC type"),
        HostileRow(name: "a bad int", xml: call("<int>12a</int>"), message: "'12a' is not an integer"),
        HostileRow(name: "an i4 past 32 bits", xml: call("<i4>4294967296</i4>"), message: "does not fit in 32 bits"),
        HostileRow(name: "an int past 64 bits", xml: call("<i8>99999999999999999999</i8>"),
            message: "is not an integer"),
        HostileRow(name: "a bad boolean", xml: call("<boolean>true</boolean>"), message: "neither 0 nor 1"),
        HostileRow(name: "a NaN", xml: call("<double>nan</double>"), message: "not a finite number"),
        HostileRow(name: "bad base64", xml: call("<base64>@@@</base64>"), message: "not base64"),
        HostileRow(name: "a bad time", xml: call("<dateTime.iso8601>yesterday</dateTime.iso8601>"),
            message: "is not a time"),
        HostileRow(name: "an array without data", xml: call("<array/>"), message: "<array> has no <data>"),
        HostileRow(name: "a member without a value",
            xml: call("<struct><member><name>a</name></member></struct>"), message: "needs a <name> and a <value>"),
        HostileRow(name: "a member twice",
            xml: call(
                "<struct><member><name>a</name><value>1</value></member>"
                    + "<member><name>a</name><value>2</value></member></struct>"
            ),
            message: "'a' appears twice"),
        HostileRow(name: "two types in a value", xml: call("<int>1</int><int>2</int>"),
            message: "holds 2 elements"),
        HostileRow(name: "text beside a type", xml: call("x<int>1</int>"), message: "mixes text"),
        HostileRow(name: "elements inside a string", xml: call("<string><b/></string>"), message: "holds elements"),
        HostileRow(
            name: "nesting past the parser's depth",
            xml: call(String(repeating: "<array><data><value>", count: 100) + "1"
                + String(repeating: "</value></data></array>", count: 100)),
            message: "nested more than"
        ),
        HostileRow(
            name: "more than the maximum size",
            xml: call("<string>" + String(repeating: "a", count: XMLRPCCodec.maximumBytes) + "</string>"),
            message: "more than the 1048576 accepted"
        ),
    ]

    @Test(arguments: hostile) func hostileInputIsNamed(_ row: HostileRow) {
        #expect {
            _ = try XMLRPCCodec.decodeCall(row.xml)
        } throws: { error in
            (error as? XMLRPCError)?.message.contains(row.message) == true
        }
    }

    @Test func faultsAndResponsesNeedTheirParts() {
        for (xml, message) in [
            ("<methodResponse/>", "neither <params> nor <fault>"),
            ("<methodResponse><params/></methodResponse>", "exactly one <param>, this one 0"),
            ("<methodResponse><fault><value><struct/></value></fault></methodResponse>", "int faultCode"),
        ] {
            #expect(performing: { _ = try XMLRPCCodec.decodeResponse(xml) }, throws: { error in
                (error as? XMLRPCError)?.message.contains(message) == true
            })
        }
    }

    struct TimeRow: Sendable, CustomTestStringConvertible {
        var text: String
        var seconds: Double?
        var testDescription: String { "'\(text)'" }
    }

    static let times: [TimeRow] = [
        TimeRow(text: "20261203T18:00:00", seconds: 1_796_320_800),
        TimeRow(text: "2026-12-03T18:00:00Z", seconds: 1_796_320_800),
        TimeRow(text: "2026-12-03t18:00:00z", seconds: 1_796_320_800),
        TimeRow(text: "2026-12-03 18:00:00", seconds: 1_796_320_800),
        TimeRow(text: "2026-12-03T19:00:00+01:00", seconds: 1_796_320_800),
        TimeRow(text: "2026-12-03T13:00:00-05:00", seconds: 1_796_320_800),
        TimeRow(text: "2026-12-03T18:00:00.250Z", seconds: 1_796_320_800.25),
        TimeRow(text: "2026-12-03", seconds: nil),
        TimeRow(text: "18:00:00", seconds: nil),
        TimeRow(text: "2026-13-03T18:00:00Z", seconds: nil),
        TimeRow(text: String(repeating: "9", count: 100), seconds: nil),
    ]

    @Test(arguments: times) func timesAreReadLeniently(_ row: TimeRow) {
        #expect(XMLRPCTime.parse(row.text)?.timeIntervalSince1970 == row.seconds)
    }

    @Test func timesAreWritten() {
        let date = Date(timeIntervalSince1970: 1_796_320_800)
        #expect(XMLRPCTime.format(date) == "20261203T18:00:00")
        #expect(XMLRPCTime.rfc3339(date) == "2026-12-03T18:00:00Z")
    }
}
