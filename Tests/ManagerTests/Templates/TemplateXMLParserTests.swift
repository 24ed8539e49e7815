import Testing

@testable import Manager

@Suite struct TemplateXMLParserTests {
    // MARK: Well-formed documents

    @Test func parsesDeclarationCommentsQuotesAndSelfClosingTags() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- header comment -->
            <domain type='kvm' id="7">
              <name>web</name>
              <devices><disk type="file"/><interface type='network'></interface></devices>
            </domain>
            <!-- trailer comment -->

            """
        let root = try TemplateXMLParser.parse(xml)
        #expect(root.name == "domain")
        #expect(root.line == 3)
        #expect(root.attributes == [.init(name: "type", value: "kvm"), .init(name: "id", value: "7")])
        #expect(root.elements.map(\.name) == ["name", "devices"])
        #expect(root.firstElement(named: "name")?.text == "web")
        #expect(root.firstElement(named: "name")?.line == 4)
        let devices = try #require(root.firstElement(named: "devices"))
        #expect(devices.line == 5)
        #expect(devices.elements.map(\.name) == ["disk", "interface"])
        #expect(devices.firstElement(named: "disk")?.attribute("type") == "file")
        #expect(devices.firstElement(named: "disk")?.children.isEmpty == true)
        #expect(devices.firstElement(named: "interface")?.children.isEmpty == true)
    }

    @Test func keepsWhitespaceTextBetweenElements() throws {
        let root = try TemplateXMLParser.parse("<a>\n  <b/>\n</a>")
        #expect(root.children == [.text("\n  "), .element(TemplateXMLNode(name: "b", line: 2)), .text("\n")])
    }

    @Test(arguments: [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&amp;", "&"),
        ("&quot;", "\""),
        ("&apos;", "'"),
        ("&#65;", "A"),
        ("&#x41;", "A"),
        ("&#x4a;&#x4A;", "JJ"),
        ("&#233;", "é"),
        ("&#x1F600;", "😀"),
        ("&#9;&#10;&#13;", "\t\n\r"),
        ("a &amp;&amp; b", "a && b"),
        ("&amp;lt;", "&lt;"),
    ])
    func decodesEntityReferencesInTextAndAttributes(encoded: String, decoded: String) throws {
        let root = try TemplateXMLParser.parse("<a v=\"\(encoded)\" w='\(encoded)'>\(encoded)</a>")
        #expect(root.text == decoded)
        #expect(root.attribute("v") == decoded)
        #expect(root.attribute("w") == decoded)
    }

    @Test func quotesOfTheOtherKindAreLiteralInsideAttributeValues() throws {
        let root = try TemplateXMLParser.parse(#"<a single='say "hi"' double="it's"/>"#)
        #expect(root.attribute("single") == #"say "hi""#)
        #expect(root.attribute("double") == "it's")
    }

    @Test func cdataIsLiteralTextMergedWithItsNeighbours() throws {
        let root = try TemplateXMLParser.parse("<a>x<![CDATA[<b>&amp; ]] ]>]]>y</a>")
        #expect(root.children == [.text("x<b>&amp; ]] ]>y")])
    }

    @Test func commentsAreSkippedEverywhere() throws {
        let root = try TemplateXMLParser.parse("<!--a--><a><!-- b -->one<!-- <c/> -->two<!----></a><!-- - -->")
        #expect(root.children == [.text("onetwo")])
    }

    @Test func attributeWhitespaceIsNormalisedButCharacterReferencesAreKept() throws {
        let root = try TemplateXMLParser.parse("<a v=\"x\ty\nz\" w=\"x&#9;y&#10;z\"/>")
        #expect(root.attribute("v") == "x y z")
        #expect(root.attribute("w") == "x\ty\nz")
    }

    @Test func lineEndingsAreNormalisedAndCounted() throws {
        let root = try TemplateXMLParser.parse("<a>\r\n<b/>\r<c/>\n<d/></a>")
        #expect(root.elements.map(\.line) == [2, 3, 4])
        #expect(!root.text.unicodeScalars.contains("\r"))
        #expect(root.text == "\n\n\n")
    }

    @Test func acceptsByteOrderMarkSpacesInTagsAndUnicodeNames() throws {
        let root = try TemplateXMLParser.parse("\u{FEFF}<été ñ = '1' qemu:x=\"2\" ></été >")
        #expect(root.name == "été")
        #expect(root.attribute("ñ") == "1")
        #expect(root.attribute("qemu:x") == "2")
    }

    @Test func declarationMayUseSingleQuotesAndStandalone() throws {
        let root = try TemplateXMLParser.parse("<?xml version='1.0' encoding='utf-8' standalone='yes' ?><a/>")
        #expect(root.name == "a")
    }

    // MARK: Errors

    @Test func mismatchedClosingTagNamesBothTagsAndLines() {
        let xml = "<domain>\n  <disk>\n  </devices>\n</domain>"
        let expected = TemplateError.malformedXML(line: 3, message: "</devices> closes <disk> opened on line 2")
        #expect(throws: expected) { try TemplateXMLParser.parse(xml) }
        #expect(expected.description == "malformed XML at line 3: </devices> closes <disk> opened on line 2")
    }

    static let deeplyNested = String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300)

    @Test(arguments: [
        ("<domain>\n  <devices>\n", 3, "unexpected end of input: <devices> opened on line 2 is never closed"),
        ("<a>&nbsp;</a>", 1, "unknown entity &nbsp;"),
        ("<a>&;</a>", 1, "empty entity reference"),
        ("<a>fish & chips</a>", 1, "'&' must start an entity reference such as &amp;"),
        ("<a v='&amp'/>", 1, "'&' must start an entity reference"),
        ("<a>&#0;</a>", 1, "&#0; is not a valid XML character"),
        ("<a>&#xD800;</a>", 1, "&#xD800; is not a valid XML character"),
        ("<a>&#x110000;</a>", 1, "&#x110000; is not a valid XML character"),
        ("<a>&#99999999999999999999;</a>", 1, "invalid character reference"),
        ("<a>&#;</a>", 1, "&#; is not a valid XML character"),
        ("<a>&#x;</a>", 1, "&#x; is not a valid XML character"),
        ("<a>&#12a;</a>", 1, "invalid character reference &#12a;"),
        ("<a>&#X41;</a>", 1, "invalid character reference &#X41;"),
        ("<a x='1'\n   x=\"2\"/>", 2, "duplicate attribute 'x' on <a>"),
        ("<a x=1/>", 1, "the value of attribute 'x' on <a> must be in single or double quotes"),
        ("<a x/>", 1, "attribute 'x' on <a> has no value"),
        ("<a x='1'y='2'/>", 1, "expected whitespace, '>' or '/>' in the start tag of <a>, found 'y'"),
        ("<a x='<'/>", 1, "'<' is not allowed in the value of attribute 'x' on <a>"),
        ("<a x='1/>", 1, "unexpected end of input in the value of attribute 'x' on <a>"),
        ("<a x='1'", 1, "unexpected end of input inside the start tag of <a>"),
        ("<a/ >", 1, "expected '>' after '/' in the start tag of <a>"),
        ("hello <a/>", 1, "text \"hello \" before the root element"),
        ("<a/>\n\n  trailing", 3, "text \"trailing\" after the root element"),
        ("&amp;<a/>", 1, "before the root element"),
        ("<a/><b/>", 1, "second root element <b> after </a>"),
        ("<a></a>\n<a></a>", 2, "second root element <a> after </a>"),
        ("", 1, "the document is empty"),
        ("  \n  ", 2, "the document is empty"),
        ("<?xml version='1.0'?><!-- only a comment -->", 1, "the document is empty"),
        ("<1abc/>", 1, "invalid element name '1abc'"),
        ("<a-b.c/><-x/>", 1, "invalid element name '-x'"),
        ("< a/>", 1, "expected an element name after '<', found ' '"),
        ("<a 9x='1'/>", 1, "invalid attribute name '9x'"),
        ("<a b$='1'/>", 1, "invalid attribute name 'b$'"),
        ("<a></ a>", 1, "expected an element name after '</'"),
        ("<a></a x>", 1, "expected '>' to end </a>, found 'x'"),
        ("</a>", 1, "</a> has no matching start tag"),
        ("<a></a></a>", 1, "</a> after the root element <a> was closed"),
        ("<!DOCTYPE domain>\n<domain/>", 1, "DOCTYPE is not allowed in a VM template"),
        ("<a><!ELEMENT a ANY></a>", 1, "unexpected '<!'"),
        ("<a>\n<!-- open</a>", 2, "comment opened on line 2 is never closed"),
        ("<a><!-- a -- b --></a>", 1, "'--' is not allowed inside a comment"),
        ("<a><!-- a ---></a>", 1, "'--' is not allowed inside a comment"),
        ("<a><![CDATA[ open</a>", 1, "CDATA section opened on line 1 is never closed"),
        ("<![CDATA[x]]><a/>", 1, "CDATA section before the root element"),
        ("<a>x]]>y</a>", 1, "']]>' is not allowed in text"),
        ("<a><?php echo 1 ?></a>", 1, "processing instruction <?php?> is not allowed in a VM template"),
        (" <?xml version='1.0'?><a/>", 1, "the XML declaration must be at the very start of the document"),
        ("<?xml encoding='UTF-8'?><a/>", 1, "the XML declaration must start with a version"),
        ("<?xml version='2.0'?><a/>", 1, "unsupported XML version \"2.0\""),
        ("<?xml version='1.0' color='red'?><a/>", 1, "unknown attribute 'color' in the XML declaration"),
        ("<?xml version='1.0'", 1, "the XML declaration opened on line 1 is never closed"),
        ("<a>\n\u{0}</a>", 2, "invalid character U+0000"),
        ("<a>\u{1B}[31m</a>", 1, "invalid character U+001B"),
        ("<a>\u{FFFE}</a>", 1, "invalid character U+FFFE"),
        (deeplyNested, 1, "<a> is nested more than 256 elements deep"),
    ])
    func rejectsMalformedDocuments(xml: String, line: Int, message: String) {
        do {
            let root = try TemplateXMLParser.parse(xml)
            Issue.record("accepted \(xml.debugDescription) as <\(root.name)>")
        } catch .malformedXML(let actualLine, let actualMessage) {
            #expect(actualLine == line, "\(actualMessage)")
            #expect(actualMessage.contains(message), "\(actualMessage)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func hugeNestingFailsAtTheDepthCapWithoutExhaustingTheStack() {
        let xml = String(repeating: "<a>", count: 200_000)
        #expect(throws: TemplateError.malformedXML(line: 1, message: "<a> is nested more than 256 elements deep")) {
            try TemplateXMLParser.parse(xml)
        }
    }

    @Test func nestingUpToTheCapIsAccepted() throws {
        let depth = TemplateXMLParser.maximumDepth
        let xml = String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
        #expect(try TemplateXMLParser.parse(xml).name == "a")
    }

    @Test func inputOverOneMebibyteIsRejectedBeforeParsing() {
        let limit = TemplateXMLParser.maximumBytes
        #expect(limit == 1_048_576)
        let xml = "<a>" + String(repeating: "x", count: limit) + "</a>"
        #expect(throws: TemplateError.tooLarge(bytes: limit + 7, limit: limit)) { try TemplateXMLParser.parse(xml) }
    }

    @Test func inputOfExactlyOneMebibyteIsAccepted() throws {
        let limit = TemplateXMLParser.maximumBytes
        let xml = "<a>" + String(repeating: "x", count: limit - 7) + "</a>"
        #expect(xml.utf8.count == limit)
        #expect(try TemplateXMLParser.parse(xml).text.count == limit - 7)
    }

    // MARK: Serialisation

    @Test func serialiserEscapesTextAndAttributes() {
        let node = TemplateXMLNode(
            name: "a",
            attributes: [.init(name: "x", value: "\"<&>' \t\n\r")],
            children: [.text("a<b&c>\"d'\r"), .element(TemplateXMLNode(name: "empty"))]
        )
        #expect(
            node.xmlString()
                == "<a x=\"&quot;&lt;&amp;&gt;' &#9;&#10;&#13;\">a&lt;b&amp;c&gt;\"d'&#13;<empty/></a>"
        )
    }

    @Test func serialisedOutputParsesBackToTheSameTree() throws {
        let xml = """
            <?xml version="1.0"?>
            <domain type='kvm' note="a &amp; b &lt; &quot;c&quot;" tabs="x&#9;y&#10;z&#13;">
              <!-- dropped -->
              <name>web &lt;1&gt;</name>
              <description><![CDATA[<raw> & ]]>text&#13;</description>
              <devices><disk/></devices>
            </domain>
            """
        let first = try TemplateXMLParser.parse(xml)
        let output = first.xmlString()
        #expect(!output.contains("dropped"))
        let second = try TemplateXMLParser.parse(output)
        #expect(second.withoutLineNumbers == first.withoutLineNumbers)
        #expect(second.xmlString() == output)
        #expect(second.firstElement(named: "description")?.text == "<raw> & text\r")
        #expect(second.attribute("tabs") == "x\ty\nz\r")
    }

    @Test func editingHelpersKeepOrderAndLayout() throws {
        var root = try TemplateXMLParser.parse("<a x='1' y='2'>\n  <b/>\n  <c/>\n  <b/>text<b/>\n</a>")
        root.setAttribute("x", to: "3")
        root.setAttribute("z", to: "4")
        #expect(root.attributes.map(\.name) == ["x", "y", "z"])
        #expect(root.attribute("x") == "3")
        root.removeElements(named: "b")
        #expect(root.children == [.text("\n  "), .element(TemplateXMLNode(name: "c", line: 3)), .text("text\n")])
        root.updateElement(at: 0) { $0.name = "never" }
        root.updateElement(at: 99) { $0.name = "never" }
        root.updateElement(at: 1) { $0.setText("inside") }
        #expect(root.xmlString() == "<a x=\"3\" y=\"2\" z=\"4\">\n  <c>inside</c>text\n</a>")
        #expect(root.indexOfElement(named: "c") == 1)
        #expect(root.indexOfElement(named: "b") == nil)
    }

    // MARK: Robustness

    /// Feeds truncations and random corruptions of a real template to the parser. The property is only that it
    /// returns or throws (a trap would kill the test process) and that whatever it accepts survives a round trip.
    @Test func survivesTruncatedAndCorruptedTemplates() throws {
        let base = Array(sampleTemplate.unicodeScalars)
        var variants: [String] = []
        for length in 0...base.count {
            variants.append(String(String.UnicodeScalarView(base.prefix(length))))
        }
        var generator = TemplateFuzzGenerator(seed: 0x746F_7270_6F72)
        let alphabet = Array("<>/&;#x='\"!?-[]CDATA \n\r\t\u{0}é😀ab1:".unicodeScalars)
        for _ in 0..<3000 {
            var scalars = base
            for _ in 0...Int.random(in: 0..<4, using: &generator) {
                let position = Int.random(in: 0...scalars.count, using: &generator)
                let scalar = alphabet.randomElement(using: &generator) ?? "<"
                switch Int.random(in: 0..<4, using: &generator) {
                case 0 where position < scalars.count: scalars[position] = scalar
                case 1 where position < scalars.count: scalars.remove(at: position)
                case 2:
                    let end = min(scalars.count, position + Int.random(in: 1...40, using: &generator))
                    scalars.insert(contentsOf: scalars[position..<end], at: position)
                default: scalars.insert(scalar, at: position)
                }
            }
            variants.append(String(String.UnicodeScalarView(scalars)))
        }
        for _ in 0..<500 {
            let length = Int.random(in: 0..<60, using: &generator)
            let scalars = (0..<length).map { _ in alphabet.randomElement(using: &generator) ?? "<" }
            variants.append(String(String.UnicodeScalarView(scalars)))
        }
        #expect(variants.count > 4000)

        var accepted = 0
        for variant in variants {
            _ = try? DomainTemplate.parse(variant, nameOverride: "vm-1") { _ in true }
            guard let root = try? TemplateXMLParser.parse(variant) else {
                continue
            }
            accepted += 1
            let reparsed = try TemplateXMLParser.parse(root.xmlString())
            #expect(reparsed.withoutLineNumbers == root.withoutLineNumbers, "\(variant.debugDescription)")
        }
        #expect(accepted > 0)
        #expect(accepted < variants.count)
    }
}

/// A libvirt domain like the ones operators write, used by the robustness test.
private let sampleTemplate = """
    <?xml version="1.0" encoding="UTF-8"?>
    <!-- web tier -->
    <domain type='kvm'>
      <name>web-template</name>
      <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
      <memory unit='MiB'>2048</memory>
      <vcpu placement="static">2</vcpu>
      <description><![CDATA[Serves <b>static</b> & dynamic pages]]> &amp; more &#x1F600;</description>
      <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
      <devices>
        <disk type='file' device='disk'>
          <driver name='qemu' type='qcow2'/>
          <source file='/var/lib/torpor/web.qcow2'/>
          <target dev='vda' bus='virtio'/>
        </disk>
        <interface type='network'>
          <mac address='52:54:00:aa:bb:cc'/>
          <source network='default'/>
        </interface>
      </devices>
    </domain>
    """

extension TemplateXMLNode {
    /// The tree with every line set to 0, for comparing trees parsed from differently laid out text.
    var withoutLineNumbers: TemplateXMLNode {
        var copy = self
        copy.line = 0
        copy.children = children.map { child in
            if case .element(let element) = child { .element(element.withoutLineNumbers) } else { child }
        }
        return copy
    }
}

/// A small seeded generator so the fuzz cases are the same on every run.
private struct TemplateFuzzGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
