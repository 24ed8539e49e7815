/// Why a VM template was rejected. Each case says enough to fix the template without reading the parser.
public enum TemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The text is not well-formed XML; `line` is 1-based.
    case malformedXML(line: Int, message: String)
    /// The document's root element is not `<domain>`.
    case notADomain(root: String)
    /// A required element or attribute is absent, named by path: "domain/name", "domain@type".
    case missingElement(String)
    /// An element that libvirt allows once appears more than once, named by path: "domain/uuid".
    case duplicateElement(String)
    /// An element or attribute (named by path) holds a value the manager cannot use.
    case invalidValue(element: String, value: String, reason: String)
    /// A VM name that libvirt, the shell scripts or the state store would mishandle.
    case invalidName(String)
    /// A disk image the template refers to is not on disk.
    case missingDisk(vm: String, path: String)
    /// The template is larger than the parser accepts; templates are a few KB, so this is a wrong file.
    case tooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .malformedXML(let line, let message):
            "malformed XML at line \(line): \(message)"
        case .notADomain(let root):
            "the root element is <\(root)>, expected <domain>"
        case .missingElement(let path):
            path.contains("@")
                ? "the template lacks the required attribute \(path)"
                : "the template lacks the required element \(path)"
        case .duplicateElement(let path):
            "the element \(path) appears more than once in the template"
        case .invalidValue(let element, let value, let reason):
            "invalid value \"\(value)\" for \(element): \(reason)"
        case .invalidName(let name):
            "invalid VM name \"\(name)\": a name is 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-', "
                + "and does not start with '-' or '.'"
        case .missingDisk(let vm, let path):
            "VM \(vm): disk \(path) does not exist"
        case .tooLarge(let bytes, let limit):
            "the template is \(bytes) bytes, more than the limit of \(limit) bytes"
        }
    }
}
