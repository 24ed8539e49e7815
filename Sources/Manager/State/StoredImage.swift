import Foundation
import GRDB

/// A disk image on storage the hosts share, as it was when added. `id` is an AUTOINCREMENT rowid like
/// `StoredFlavor.id`.
public struct StoredImage: Codable, Equatable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "image"
    public static let databaseDateEncodingStrategy = DatabaseDateEncodingStrategy.timeIntervalSince1970
    public static let databaseDateDecodingStrategy = DatabaseDateDecodingStrategy.timeIntervalSince1970

    public var id: Int64?
    public var name: String
    /// Absolute, as the manager and every host see it.
    public var path: String
    /// `qcow2` or `raw`.
    public var format: String
    public var sizeBytes: Int64
    public var virtualSizeBytes: Int64
    public var sha256: String
    public var addedAt: Date

    public init(
        id: Int64? = nil,
        name: String,
        path: String,
        format: String,
        sizeBytes: Int64,
        virtualSizeBytes: Int64,
        sha256: String,
        addedAt: Date = Date()
    ) {
        self.id = id
        self.name = name
        self.path = path
        self.format = format
        self.sizeBytes = sizeBytes
        self.virtualSizeBytes = virtualSizeBytes
        self.sha256 = sha256
        self.addedAt = addedAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// The files a VM made from an image owns: its copy-on-write overlay and its contextualization ISO, deleted with
/// the VM. The row goes with the VM (ON DELETE CASCADE); `ManagerStore.deleteVM` hands it back so the caller can
/// remove the files.
public struct StoredVMDisk: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "vmDisk"

    public var vmID: String
    public var imageID: Int64
    public var flavorID: Int64
    public var overlayPath: String
    /// Empty when the VM has no seed ISO.
    public var seedPath: String
    /// The SSH keys on its seed, one a line: the seed is written again with them when the VM gets a new address.
    public var sshKeys: String

    public init(
        vmID: String,
        imageID: Int64,
        flavorID: Int64,
        overlayPath: String,
        seedPath: String,
        sshKeys: [String] = []
    ) {
        self.vmID = vmID
        self.imageID = imageID
        self.flavorID = flavorID
        self.overlayPath = overlayPath
        self.seedPath = seedPath
        self.sshKeys = sshKeys.joined(separator: "\n")
    }

    public var sshKeyList: [String] { sshKeys.split(separator: "\n").map(String.init) }
}
