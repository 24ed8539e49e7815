/// One element of a parsed VM template: just enough of XML to read libvirt domain documents and write them back.
/// Comments and the XML declaration are dropped; text (including CDATA, decoded) and element order are kept, so the
/// document sent to the hypervisor is the template the operator wrote, not a re-imagining of it.
public struct TemplateXMLNode: Sendable, Hashable {
    /// An attribute with its entity references already decoded.
    public struct Attribute: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A child in document order; adjacent text, CDATA and references form one `.text`.
    public enum Child: Sendable, Hashable {
        case element(TemplateXMLNode)
        case text(String)
    }

    public var name: String
    /// In document order, which libvirt does not care about but people reading diffs do.
    public var attributes: [Attribute]
    public var children: [Child]
    /// The 1-based line of the start tag; 0 for elements the manager added.
    public var line: Int

    public init(name: String, attributes: [Attribute] = [], children: [Child] = [], line: Int = 0) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.line = line
    }

    /// The decoded value of attribute `name`, or nil if the element has none.
    public func attribute(_ name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }

    /// Replaces the value of attribute `name` in place, or appends the attribute if absent.
    public mutating func setAttribute(_ name: String, to value: String) {
        if let index = attributes.firstIndex(where: { $0.name == name }) {
            attributes[index].value = value
        } else {
            attributes.append(Attribute(name: name, value: value))
        }
    }

    /// The element children, in order, without the text between them.
    public var elements: [TemplateXMLNode] {
        children.compactMap { child in
            if case .element(let element) = child { element } else { nil }
        }
    }

    public func elements(named name: String) -> [TemplateXMLNode] {
        elements.filter { $0.name == name }
    }

    public func firstElement(named name: String) -> TemplateXMLNode? {
        elements.first { $0.name == name }
    }

    /// The position in `children` of the first element called `name`, for edits that keep the surrounding text.
    public func indexOfElement(named name: String) -> Int? {
        children.firstIndex { child in
            if case .element(let element) = child { element.name == name } else { false }
        }
    }

    /// Edits the element at `children[index]` in place; does nothing if that child is text or out of range.
    public mutating func updateElement(at index: Int, _ body: (inout TemplateXMLNode) -> Void) {
        guard children.indices.contains(index), case .element(var element) = children[index] else {
            return
        }
        body(&element)
        children[index] = .element(element)
    }

    /// The concatenated direct text children; text inside child elements is not included.
    public var text: String {
        children.reduce(into: "") { result, child in
            if case .text(let text) = child {
                result += text
            }
        }
    }

    /// Replaces all children with the single text `text`.
    public mutating func setText(_ text: String) {
        children = text.isEmpty ? [] : [.text(text)]
    }

    /// Removes every direct child element called `name`, with the whitespace-only text before it, so no blank line
    /// is left where it was. Text left adjacent is merged, as the parser would have read it.
    public mutating func removeElements(named name: String) {
        var kept: [Child] = []
        for child in children {
            switch (child, kept.last) {
            case (.element(let element), .text(let previous)) where element.name == name:
                if previous.unicodeScalars.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }) {
                    kept.removeLast()
                }
            case (.element(let element), _) where element.name == name:
                break
            case (.text(let text), .text(let previous)):
                kept[kept.count - 1] = .text(previous + text)
            default:
                kept.append(child)
            }
        }
        children = kept
    }

    /// The element as XML that `TemplateXMLParser` reads back to an equal tree (line numbers aside). Whitespace in
    /// attribute values and carriage returns in text are written as character references, since the parser
    /// normalises them when they appear literally.
    public func xmlString() -> String {
        var output = ""
        write(to: &output)
        return output
    }

    private func write(to output: inout String) {
        output += "<" + name
        for attribute in attributes {
            output += " " + attribute.name + "=\""
            Self.escape(attribute.value, inAttribute: true, to: &output)
            output += "\""
        }
        guard !children.isEmpty else {
            output += "/>"
            return
        }
        output += ">"
        for child in children {
            switch child {
            case .element(let element):
                element.write(to: &output)
            case .text(let text):
                Self.escape(text, inAttribute: false, to: &output)
            }
        }
        output += "</" + name + ">"
    }

    static func escape(_ text: String, inAttribute: Bool, to output: inout String) {
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\r": output += "&#13;"
            case "\"" where inAttribute: output += "&quot;"
            case "\n" where inAttribute: output += "&#10;"
            case "\t" where inAttribute: output += "&#9;"
            default: output.unicodeScalars.append(scalar)
            }
        }
    }
}
