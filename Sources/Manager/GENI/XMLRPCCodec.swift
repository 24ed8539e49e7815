import Foundation

/// Reads and writes XML-RPC documents (https://xmlrpc.com/spec.md) with the strict `TemplateXMLParser`: hostile
/// input (malformed XML, a DOCTYPE, absurd nesting, more than `maximumBytes`, an unknown type, a bad number, base64
/// or time) is an `XMLRPCError` naming the problem, never a trap.
public enum XMLRPCCodec {
    /// The largest document read: an RSpec of thousands of nodes fits.
    public static let maximumBytes = TemplateXMLParser.maximumBytes

    // MARK: Reading

    public static func decodeCall(_ xml: String) throws(XMLRPCError) -> XMLRPCMethodCall {
        let root = try parse(xml)
        guard root.name == "methodCall" else { throw XMLRPCError("the root element is <\(root.name)>, expected <methodCall>") }
        try expectOnly(["methodName", "params"], in: root)
        guard let nameElement = try single("methodName", in: root) else {
            throw XMLRPCError("<methodCall> has no <methodName>")
        }
        let method = nameElement.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !method.isEmpty else { throw XMLRPCError("<methodName> is empty (line \(nameElement.line))") }
        let parameters = try single("params", in: root).map(readParams) ?? []
        return XMLRPCMethodCall(method: method, parameters: parameters)
    }

    public static func decodeResponse(_ xml: String) throws(XMLRPCError) -> XMLRPCResponse {
        let root = try parse(xml)
        guard root.name == "methodResponse" else {
            throw XMLRPCError("the root element is <\(root.name)>, expected <methodResponse>")
        }
        try expectOnly(["params", "fault"], in: root)
        if let fault = try single("fault", in: root) {
            guard let valueElement = try single("value", in: fault) else { throw XMLRPCError("<fault> has no <value>") }
            let value = try readValue(valueElement)
            guard let code = value["faultCode"]?.int, let message = value["faultString"]?.string else {
                throw XMLRPCError("a fault needs an int faultCode and a string faultString (line \(fault.line))")
            }
            return .fault(code: code, message: message)
        }
        guard let params = try single("params", in: root) else {
            throw XMLRPCError("<methodResponse> has neither <params> nor <fault>")
        }
        let values = try readParams(params)
        guard values.count == 1 else {
            throw XMLRPCError("a response holds exactly one <param>, this one \(values.count)")
        }
        return .value(values[0])
    }

    private static func parse(_ xml: String) throws(XMLRPCError) -> TemplateXMLNode {
        do {
            return try TemplateXMLParser.parse(xml)
        } catch {
            switch error {
            case .tooLarge(let bytes, let limit):
                throw XMLRPCError("the document is \(bytes) bytes, more than the \(limit) accepted")
            default:
                throw XMLRPCError("\(error)")
            }
        }
    }

    private static func readParams(_ params: TemplateXMLNode) throws(XMLRPCError) -> [XMLRPCValue] {
        try expectOnly(["param"], in: params)
        var values: [XMLRPCValue] = []
        for param in params.elements {
            try expectOnly(["value"], in: param)
            guard let value = try single("value", in: param) else {
                throw XMLRPCError("<param> has no <value> (line \(param.line))")
            }
            values.append(try readValue(value))
        }
        return values
    }

    /// Reads `<value>`: one typed element, or bare text (a string).
    static func readValue(_ value: TemplateXMLNode) throws(XMLRPCError) -> XMLRPCValue {
        let typed = value.elements
        guard let element = typed.first else { return .string(value.text) }
        guard typed.count == 1 else {
            throw XMLRPCError("<value> holds \(typed.count) elements, expected one (line \(value.line))")
        }
        guard value.text.allSatisfy(\.isWhitespace) else {
            throw XMLRPCError("<value> mixes text with <\(element.name)> (line \(value.line))")
        }
        let text = element.text
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        func leaf() throws(XMLRPCError) {
            guard element.elements.isEmpty else {
                throw XMLRPCError("<\(element.name)> holds elements (line \(element.line))")
            }
        }
        switch element.name {
        case "int", "i4", "i8":
            try leaf()
            guard let number = Int(trimmed.hasPrefix("+") ? String(trimmed.dropFirst()) : trimmed) else {
                throw XMLRPCError("<\(element.name)> '\(trimmed.prefix(40))' is not an integer (line \(element.line))")
            }
            guard element.name == "i8" || Int32(exactly: number) != nil else {
                throw XMLRPCError("<\(element.name)> \(number) does not fit in 32 bits (line \(element.line))")
            }
            return .int(number)
        case "boolean":
            try leaf()
            switch trimmed {
            case "1": return .bool(true)
            case "0": return .bool(false)
            default: throw XMLRPCError("<boolean> '\(trimmed.prefix(40))' is neither 0 nor 1 (line \(element.line))")
            }
        case "string":
            try leaf()
            return .string(text)
        case "double":
            try leaf()
            guard let number = Double(trimmed), number.isFinite else {
                throw XMLRPCError("<double> '\(trimmed.prefix(40))' is not a finite number (line \(element.line))")
            }
            return .double(number)
        case "dateTime.iso8601":
            try leaf()
            guard let date = XMLRPCTime.parse(trimmed) else {
                throw XMLRPCError("<dateTime.iso8601> '\(trimmed.prefix(40))' is not a time (line \(element.line))")
            }
            return .dateTime(date)
        case "base64":
            try leaf()
            let compact = trimmed.filter { !$0.isWhitespace }
            guard let data = Data(base64Encoded: compact) else {
                throw XMLRPCError("<base64> is not base64 (line \(element.line))")
            }
            return .base64([UInt8](data))
        case "nil":
            try leaf()
            return .null
        case "array":
            try expectOnly(["data"], in: element)
            guard let data = try single("data", in: element) else {
                throw XMLRPCError("<array> has no <data> (line \(element.line))")
            }
            try expectOnly(["value"], in: data)
            var values: [XMLRPCValue] = []
            for item in data.elements { values.append(try readValue(item)) }
            return .array(values)
        case "struct":
            try expectOnly(["member"], in: element)
            var members: [String: XMLRPCValue] = [:]
            for member in element.elements {
                try expectOnly(["name", "value"], in: member)
                guard let name = try single("name", in: member), let memberValue = try single("value", in: member)
                else {
                    throw XMLRPCError("<member> needs a <name> and a <value> (line \(member.line))")
                }
                guard members[name.text] == nil else {
                    throw XMLRPCError("the struct member '\(name.text.prefix(60))' appears twice (line \(member.line))")
                }
                members[name.text] = try readValue(memberValue)
            }
            return .structure(members)
        default:
            throw XMLRPCError("<\(element.name.prefix(40))> is not an XML-RPC type (line \(element.line))")
        }
    }

    private static func single(_ name: String, in parent: TemplateXMLNode) throws(XMLRPCError) -> TemplateXMLNode? {
        let found = parent.elements(named: name)
        guard found.count <= 1 else {
            throw XMLRPCError("<\(parent.name)> holds \(found.count) <\(name)> elements (line \(parent.line))")
        }
        return found.first
    }

    private static func expectOnly(_ names: Set<String>, in parent: TemplateXMLNode) throws(XMLRPCError) {
        if let stray = parent.elements.first(where: { !names.contains($0.name) }) {
            throw XMLRPCError("<\(stray.name.prefix(40))> is not allowed in <\(parent.name)> (line \(stray.line))")
        }
        guard parent.text.allSatisfy(\.isWhitespace) else {
            throw XMLRPCError("<\(parent.name)> holds text (line \(parent.line))")
        }
    }

    // MARK: Writing

    public static func encode(_ response: XMLRPCResponse) -> String {
        var output = "<?xml version=\"1.0\"?>\n<methodResponse>"
        switch response {
        case .value(let value):
            output += "<params><param>"
            write(value, to: &output)
            output += "</param></params>"
        case .fault(let code, let message):
            output += "<fault>"
            write(.structure(["faultCode": .int(code), "faultString": .string(message)]), to: &output)
            output += "</fault>"
        }
        return output + "</methodResponse>\n"
    }

    public static func encode(_ call: XMLRPCMethodCall) -> String {
        var output = "<?xml version=\"1.0\"?>\n<methodCall><methodName>"
        TemplateXMLNode.escape(call.method, inAttribute: false, to: &output)
        output += "</methodName><params>"
        for parameter in call.parameters {
            output += "<param>"
            write(parameter, to: &output)
            output += "</param>"
        }
        return output + "</params></methodCall>\n"
    }

    static func write(_ value: XMLRPCValue, to output: inout String) {
        output += "<value>"
        switch value {
        case .int(let number):
            output += Int32(exactly: number) != nil ? "<int>\(number)</int>" : "<i8>\(number)</i8>"
        case .bool(let flag): output += "<boolean>\(flag ? 1 : 0)</boolean>"
        case .string(let text):
            output += "<string>"
            TemplateXMLNode.escape(text, inAttribute: false, to: &output)
            output += "</string>"
        case .double(let number): output += "<double>\(number)</double>"
        case .dateTime(let date): output += "<dateTime.iso8601>\(XMLRPCTime.format(date))</dateTime.iso8601>"
        case .base64(let bytes): output += "<base64>\(Data(bytes).base64EncodedString())</base64>"
        case .array(let values):
            output += "<array><data>"
            for element in values { write(element, to: &output) }
            output += "</data></array>"
        case .structure(let members):
            output += "<struct>"
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                output += "<member><name>"
                TemplateXMLNode.escape(name, inAttribute: false, to: &output)
                output += "</name>"
                write(member, to: &output)
                output += "</member>"
            }
            output += "</struct>"
        case .null: output += "<nil/>"
        }
        output += "</value>"
    }
}

/// Times as XML-RPC and GENI write them.
public enum XMLRPCTime {
    /// XML-RPC's `20261203T18:00:00` (UTC, as Python's client reads it), an RFC 3339 time (`2026-12-03T18:00:00Z`,
    /// an offset, fractional seconds, a space or lower-case `t`), or either without a zone (taken as UTC).
    public static func parse(_ text: String) -> Date? {
        var normalized = text.trimmingCharacters(in: .whitespaces).uppercased()
        guard normalized.count >= 15, normalized.count <= 40 else { return nil }
        if let space = normalized.firstIndex(of: " "), normalized.distance(from: normalized.startIndex, to: space) <= 10 {
            normalized.replaceSubrange(space...space, with: "T")
        }
        // Compact XML-RPC date: insert the dashes.
        if let t = normalized.firstIndex(of: "T"), normalized.distance(from: normalized.startIndex, to: t) == 8,
            normalized[..<t].allSatisfy(\.isNumber)
        {
            let date = normalized[..<t]
            normalized = "\(date.prefix(4))-\(date.dropFirst(4).prefix(2))-\(date.dropFirst(6))"
                + normalized[t...]
        }
        let time = normalized.split(separator: "T", maxSplits: 1).last.map(String.init) ?? ""
        if !time.contains("Z"), !time.contains("+"), !time.contains("-") { normalized += "Z" }
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds],
        ] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: normalized) { return date }
        }
        return nil
    }

    /// XML-RPC's own form, in UTC.
    public static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withYear, .withMonth, .withDay, .withTime, .withColonSeparatorInTime]
        return formatter.string(from: date)
    }

    /// RFC 3339 in UTC, to the second: how GENI's replies write times.
    public static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
