/// A strict, hand-written XML parser for VM templates.
///
/// Foundation's XMLParser and XMLDocument accept malformed documents on Linux without an error, and a template
/// the manager half-reads becomes a VM with the wrong disks. This parser accepts only well-formed XML 1.0 without
/// a DOCTYPE (no external entities, no entity expansion tricks) and names the line of the first problem.
/// It never traps on input: every index is bounds-checked, nesting depth and input size are capped.
public enum TemplateXMLParser {
    /// Templates are a few KB; anything past 1 MiB is the wrong file.
    public static let maximumBytes = 1 << 20
    /// libvirt domains nest under ten deep; the cap keeps the tree's recursive code far from the stack limit.
    public static let maximumDepth = 256

    /// Parses `xml` into its root element.
    public static func parse(_ xml: String) throws(TemplateError) -> TemplateXMLNode {
        let size = xml.utf8.count
        guard size <= maximumBytes else {
            throw .tooLarge(bytes: size, limit: maximumBytes)
        }
        var parser = try Parser(source: xml)
        return try parser.parseDocument()
    }
}

/// The parse state: a cursor over the document's scalars plus the stack of open elements.
/// Iterative rather than recursive descent, so deep nesting in hostile input cannot exhaust the stack.
private struct Parser {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    /// Open elements, innermost last; each collects its children until its end tag.
    private var stack: [TemplateXMLNode] = []
    /// Text seen since the last tag, not yet appended to the innermost open element.
    private var pendingText = ""
    private var root: TemplateXMLNode?

    /// Drops a leading byte-order mark, normalises line ends to "\n" as XML requires (so line numbers and text
    /// agree on every platform) and rejects characters XML forbids, like NUL.
    init(source: String) throws(TemplateError) {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(source.utf8.count)
        var line = 1
        var isFirst = true
        var previousWasCarriageReturn = false
        for scalar in source.unicodeScalars {
            defer { isFirst = false }
            if isFirst && scalar == "\u{FEFF}" {
                continue
            }
            if scalar == "\n" && previousWasCarriageReturn {
                previousWasCarriageReturn = false
                continue
            }
            previousWasCarriageReturn = scalar == "\r"
            if scalar == "\r" || scalar == "\n" {
                result.append("\n")
                line += 1
                continue
            }
            guard Self.isXMLCharacter(scalar) else {
                throw .malformedXML(line: line, message: "invalid character \(Self.codePoint(scalar))")
            }
            result.append(scalar)
        }
        scalars = result
    }

    mutating func parseDocument() throws(TemplateError) -> TemplateXMLNode {
        if hasPrefix("<?xml"), let next = peek(5), next == "?" || Self.isWhitespace(next) {
            try parseDeclaration()
        }
        while let scalar = peek() {
            if scalar == "<" {
                try parseMarkup()
            } else if stack.isEmpty {
                try skipTextOutsideRoot()
            } else if scalar == "&" {
                pendingText.unicodeScalars.append(try parseReference())
            } else if scalar == "]" && hasPrefix("]]>") {
                throw fail("']]>' is not allowed in text; write ]]&gt;")
            } else {
                advance()
                pendingText.unicodeScalars.append(scalar)
            }
        }
        if let open = stack.last {
            throw fail("unexpected end of input: <\(open.name)> opened on line \(open.line) is never closed")
        }
        guard let root else {
            throw fail("the document is empty: it has no root element")
        }
        return root
    }

    // MARK: Markup

    private mutating func parseMarkup() throws(TemplateError) {
        if hasPrefix("<!--") {
            try skipComment()
        } else if hasPrefix("<![CDATA[") {
            try parseCDATA()
        } else if hasPrefix("<!DOCTYPE") {
            throw fail("DOCTYPE is not allowed in a VM template")
        } else if hasPrefix("<!") {
            throw fail("unexpected '<!': only comments and CDATA sections start with '<!'")
        } else if hasPrefix("<?") {
            try rejectProcessingInstruction()
        } else if hasPrefix("</") {
            try parseEndTag()
        } else {
            try parseStartTag()
        }
    }

    private mutating func parseStartTag() throws(TemplateError) {
        let tagLine = line
        advance()  // "<"
        let name = try parseName(of: "element", after: "'<'")
        if stack.isEmpty, let root {
            throw fail("second root element <\(name)> after </\(root.name)>: a document has exactly one root element")
        }
        guard stack.count < TemplateXMLParser.maximumDepth else {
            throw fail("<\(name)> is nested more than \(TemplateXMLParser.maximumDepth) elements deep")
        }
        var element = TemplateXMLNode(name: name, line: tagLine)
        while true {
            let hadWhitespace = skipWhitespace()
            guard let scalar = peek() else {
                throw fail("unexpected end of input inside the start tag of <\(name)> opened on line \(tagLine)")
            }
            if scalar == ">" {
                advance()
                flushText()
                stack.append(element)
                return
            }
            if scalar == "/" {
                advance()
                guard consume(">") else {
                    throw fail("expected '>' after '/' in the start tag of <\(name)>")
                }
                flushText()
                attach(element)
                return
            }
            guard hadWhitespace else {
                throw fail(
                    "expected whitespace, '>' or '/>' in the start tag of <\(name)>, found \(Self.quoted(scalar))"
                )
            }
            let attribute = try parseAttribute(of: name)
            guard !element.attributes.contains(where: { $0.name == attribute.name }) else {
                throw fail("duplicate attribute '\(attribute.name)' on <\(name)>")
            }
            element.attributes.append(attribute)
        }
    }

    private mutating func parseAttribute(of element: String) throws(TemplateError) -> TemplateXMLNode.Attribute {
        let name = try parseName(of: "attribute", after: "<\(element)")
        skipWhitespace()
        guard consume("=") else {
            throw fail("attribute '\(name)' on <\(element)> has no value: expected '='")
        }
        skipWhitespace()
        guard let quote = peek(), quote == "\"" || quote == "'" else {
            throw fail("the value of attribute '\(name)' on <\(element)> must be in single or double quotes")
        }
        advance()
        var value = ""
        while true {
            guard let scalar = peek() else {
                throw fail("unexpected end of input in the value of attribute '\(name)' on <\(element)>")
            }
            if scalar == quote {
                advance()
                return TemplateXMLNode.Attribute(name: name, value: value)
            }
            if scalar == "<" {
                throw fail("'<' is not allowed in the value of attribute '\(name)' on <\(element)>; write &lt;")
            }
            if scalar == "&" {
                value.unicodeScalars.append(try parseReference())
            } else {
                advance()
                // XML attribute-value normalisation: literal tabs and newlines read as spaces.
                value.unicodeScalars.append(scalar == "\t" || scalar == "\n" ? " " : scalar)
            }
        }
    }

    private mutating func parseEndTag() throws(TemplateError) {
        let tagLine = line
        advance(by: 2)  // "</"
        let name = try parseName(of: "element", after: "'</'")
        skipWhitespace()
        guard consume(">") else {
            let found = peek().map(Self.quoted) ?? "end of input"
            throw fail("expected '>' to end </\(name)>, found \(found)")
        }
        guard let open = stack.last else {
            if let root {
                throw fail("</\(name)> after the root element <\(root.name)> was closed", line: tagLine)
            }
            throw fail("</\(name)> has no matching start tag", line: tagLine)
        }
        guard open.name == name else {
            throw fail("</\(name)> closes <\(open.name)> opened on line \(open.line)", line: tagLine)
        }
        flushText()
        attach(stack.removeLast())
    }

    /// Reads an XML Name. The whole token up to a delimiter is taken first, so the error shows what was written.
    private mutating func parseName(of kind: String, after context: String) throws(TemplateError) -> String {
        let start = index
        while let scalar = peek(), !Self.endsName(scalar) {
            advance()
        }
        var name = ""
        name.unicodeScalars.append(contentsOf: scalars[start..<index])
        guard let first = name.unicodeScalars.first else {
            let found = peek().map(Self.quoted) ?? "end of input"
            throw fail("expected an \(kind) name after \(context), found \(found)")
        }
        guard Self.isNameStart(first), name.unicodeScalars.dropFirst().allSatisfy(Self.isNameCharacter) else {
            throw fail("invalid \(kind) name '\(name)'")
        }
        return name
    }

    // MARK: Text, references, comments

    /// Only whitespace and comments may surround the root element.
    private mutating func skipTextOutsideRoot() throws(TemplateError) {
        var snippet = ""
        var snippetLine = line
        while let scalar = peek(), scalar != "<" {
            if !Self.isWhitespace(scalar) || !snippet.isEmpty {
                if snippet.isEmpty {
                    snippetLine = line
                }
                if snippet.unicodeScalars.count < 20 {
                    snippet.unicodeScalars.append(scalar == "\n" ? " " : scalar)
                }
            }
            advance()
        }
        guard snippet.isEmpty else {
            let position = root == nil ? "before" : "after"
            throw fail("text \"\(snippet)\" \(position) the root element", line: snippetLine)
        }
    }

    /// Decodes `&name;`, `&#NN;` or `&#xHH;` at the cursor.
    private mutating func parseReference() throws(TemplateError) -> Unicode.Scalar {
        advance()  // "&"
        var body = ""
        while let scalar = peek(), scalar != ";" {
            guard body.unicodeScalars.count < 32, scalar == "#" || Self.isNameCharacter(scalar) else {
                break
            }
            body.unicodeScalars.append(scalar)
            advance()
        }
        guard consume(";") else {
            throw fail("'&' must start an entity reference such as &amp;, but no ';' ends '&\(body)'")
        }
        switch body {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "quot": return "\""
        case "apos": return "'"
        default: break
        }
        guard body.hasPrefix("#") else {
            throw fail(body.isEmpty ? "empty entity reference '&;'" : "unknown entity &\(body);")
        }
        let isHex = body.hasPrefix("#x")
        let digits = body.unicodeScalars.dropFirst(isHex ? 2 : 1)
        var value: UInt32 = 0
        for digit in digits {
            guard let digitValue = Self.digitValue(digit, hex: isHex), value <= 0x10FFFF else {
                throw fail("invalid character reference &\(body);")
            }
            value = value * (isHex ? 16 : 10) + digitValue
        }
        guard !digits.isEmpty, let scalar = Unicode.Scalar(value), Self.isXMLCharacter(scalar) else {
            throw fail("character reference &\(body); is not a valid XML character")
        }
        return scalar
    }

    private mutating func parseCDATA() throws(TemplateError) {
        let startLine = line
        guard !stack.isEmpty else {
            throw fail("CDATA section \(root == nil ? "before" : "after") the root element")
        }
        advance(by: 9)  // "<![CDATA["
        while let scalar = peek() {
            if consume("]]>") {
                return
            }
            pendingText.unicodeScalars.append(scalar)
            advance()
        }
        throw fail("CDATA section opened on line \(startLine) is never closed")
    }

    private mutating func skipComment() throws(TemplateError) {
        let startLine = line
        advance(by: 4)  // "<!--"
        while peek() != nil {
            if hasPrefix("--") {
                guard consume("-->") else {
                    throw fail("'--' is not allowed inside a comment")
                }
                return
            }
            advance()
        }
        throw fail("comment opened on line \(startLine) is never closed")
    }

    /// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`; the encoding is not checked, since the input
    /// is already a decoded String.
    private mutating func parseDeclaration() throws(TemplateError) {
        let startLine = line
        advance(by: 5)  // "<?xml"
        var seen: [String] = []
        while true {
            let hadWhitespace = skipWhitespace()
            if consume("?>") {
                break
            }
            guard peek() != nil else {
                throw fail("the XML declaration opened on line \(startLine) is never closed")
            }
            guard hadWhitespace else {
                throw fail("expected whitespace or '?>' in the XML declaration")
            }
            let name = try parseName(of: "XML declaration attribute", after: "<?xml")
            guard ["version", "encoding", "standalone"].contains(name) else {
                throw fail("unknown attribute '\(name)' in the XML declaration")
            }
            guard !seen.contains(name) else {
                throw fail("duplicate attribute '\(name)' in the XML declaration")
            }
            seen.append(name)
            skipWhitespace()
            guard consume("=") else {
                throw fail("attribute '\(name)' in the XML declaration has no value: expected '='")
            }
            skipWhitespace()
            guard let quote = peek(), quote == "\"" || quote == "'" else {
                throw fail("the value of '\(name)' in the XML declaration must be in single or double quotes")
            }
            advance()
            var value = ""
            while let scalar = peek(), scalar != quote, scalar != "<", scalar != "?" {
                value.unicodeScalars.append(scalar)
                advance()
            }
            guard consume(String(quote)) else {
                throw fail("unterminated value of '\(name)' in the XML declaration")
            }
            if name == "version" && !value.hasPrefix("1.") {
                throw fail("unsupported XML version \"\(value)\"")
            }
        }
        guard seen.first == "version" else {
            throw fail("the XML declaration must start with a version, e.g. <?xml version=\"1.0\"?>", line: startLine)
        }
    }

    private mutating func rejectProcessingInstruction() throws(TemplateError) {
        if hasPrefix("<?xml"), let next = peek(5), next == "?" || Self.isWhitespace(next) {
            throw fail("the XML declaration must be at the very start of the document")
        }
        advance(by: 2)  // "<?"
        let start = index
        while let scalar = peek(), !Self.endsName(scalar) {
            advance()
        }
        var target = ""
        target.unicodeScalars.append(contentsOf: scalars[start..<index].prefix(40))
        throw fail("processing instruction <?\(target)?> is not allowed in a VM template")
    }

    // MARK: Tree building

    private mutating func flushText() {
        guard !pendingText.isEmpty, !stack.isEmpty else {
            return
        }
        stack[stack.count - 1].children.append(.text(pendingText))
        pendingText = ""
    }

    /// Adds a finished element to its parent, or makes it the root.
    private mutating func attach(_ element: TemplateXMLNode) {
        if stack.isEmpty {
            root = element
        } else {
            stack[stack.count - 1].children.append(.element(element))
        }
    }

    // MARK: Cursor

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        let position = index + offset
        guard position >= 0, position < scalars.count else {
            return nil
        }
        return scalars[position]
    }

    private mutating func advance(by count: Int = 1) {
        for _ in 0..<count {
            guard index < scalars.count else {
                return
            }
            if scalars[index] == "\n" {
                line += 1
            }
            index += 1
        }
    }

    private func hasPrefix(_ literal: String) -> Bool {
        var position = index
        for scalar in literal.unicodeScalars {
            guard position < scalars.count, scalars[position] == scalar else {
                return false
            }
            position += 1
        }
        return true
    }

    private mutating func consume(_ literal: String) -> Bool {
        guard hasPrefix(literal) else {
            return false
        }
        advance(by: literal.unicodeScalars.count)
        return true
    }

    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = index
        while let scalar = peek(), Self.isWhitespace(scalar) {
            advance()
        }
        return index > start
    }

    private func fail(_ message: String, line: Int? = nil) -> TemplateError {
        .malformedXML(line: line ?? self.line, message: message)
    }

    // MARK: Character classes (XML 1.0, fifth edition)

    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r"
    }

    /// Characters that end a name token, so an invalid name is reported whole but stops at markup.
    private static func endsName(_ scalar: Unicode.Scalar) -> Bool {
        isWhitespace(scalar) || "<>/=\"'?&;".unicodeScalars.contains(scalar)
    }

    private static func isXMLCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    private static func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3A, 0x41...0x5A, 0x5F, 0x61...0x7A, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x2FF, 0x370...0x37D,
            0x37F...0x1FFF, 0x200C...0x200D, 0x2070...0x218F, 0x2C00...0x2FEF, 0x3001...0xD7FF, 0xF900...0xFDCF,
            0xFDF0...0xFFFD, 0x10000...0xEFFFF:
            true
        default:
            false
        }
    }

    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x2D, 0x2E, 0x30...0x39, 0xB7, 0x300...0x36F, 0x203F...0x2040: true
        default: isNameStart(scalar)
        }
    }

    private static func digitValue(_ scalar: Unicode.Scalar, hex: Bool) -> UInt32? {
        switch scalar.value {
        case 0x30...0x39: scalar.value - 0x30
        case 0x41...0x46 where hex: scalar.value - 0x41 + 10
        case 0x61...0x66 where hex: scalar.value - 0x61 + 10
        default: nil
        }
    }

    private static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// A scalar for an error message: printable ones quoted, others as U+XXXX.
    private static func quoted(_ scalar: Unicode.Scalar) -> String {
        if scalar == "\n" {
            return "end of line"
        }
        return scalar.value < 0x20 ? codePoint(scalar) : "'\(scalar)'"
    }
}
