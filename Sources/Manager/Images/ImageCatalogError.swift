/// Why an image could not be added or a VM's disk files made. Every case names the file at fault.
public enum ImageCatalogError: Error, Equatable, Sendable, CustomStringConvertible {
    case notAbsolute(String)
    case missing(String)
    case notAFile(String)
    /// `qemu-img info` could not read it as a disk image.
    case notAnImage(String, reason: String)
    case unsupportedFormat(String, format: String)
    /// A raw image is any file; one whose size is not whole 512-byte sectors is not a disk.
    case notWholeSectors(String, bytes: Int64)
    case hasBackingFile(String, backing: String)
    case commandFailed(program: String, path: String, reason: String)
    /// Not under any of `images.roots`.
    case outsideRoots(String, roots: [String])

    public var description: String {
        switch self {
        case .notAbsolute(let path):
            "image path '\(path)' is not absolute (give the path every host sees, e.g. /srv/images/debian.qcow2)"
        case .missing(let path):
            "image file \(path) does not exist"
        case .notAFile(let path):
            "\(path) is not a regular file"
        case .notAnImage(let path, let reason):
            "\(path) is not a disk image qemu-img can read: \(reason)"
        case .unsupportedFormat(let path, let format):
            "\(path) is a \(format) image; the catalog takes qcow2 and raw (convert it with qemu-img convert)"
        case .notWholeSectors(let path, let bytes):
            "\(path) is not a raw disk image: its \(bytes) bytes are not whole 512-byte sectors"
        case .hasBackingFile(let path, let backing):
            "\(path) is an overlay of \(backing); add a standalone image (qemu-img convert -O qcow2)"
        case .commandFailed(let program, let path, let reason):
            "\(program) failed on \(path): \(reason)"
        case .outsideRoots(let path, let roots):
            "\(path) is not in the image directories (images.roots: \(roots.joined(separator: ", ")))"
        }
    }
}
