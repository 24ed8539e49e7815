/// Why a `ManagerStore` call failed. Every case names the thing at fault so the CLI can show it as is.
public enum ManagerStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case duplicateVirtualCluster(String)
    case duplicateVM(name: String)
    case duplicateUUID(String)
    case unknownVirtualCluster(String)
    case unknownVM(String)
    case unknownTask(String)
    case duplicateFlavor(String)
    case unknownFlavor(String)
    case flavorInUse(String, vms: [String])
    case duplicateImage(String)
    case duplicateImagePath(String, image: String)
    case unknownImage(String)
    case imageInUse(String, vms: [String])
    /// A host cannot be forgotten while these VMs (name and state) are placed on it.
    case hostInUse(String, vms: [String])
    /// A GRDB or SQLite failure, with the database path so several stores can be told apart in logs.
    case database(path: String, message: String)
    /// The replicated state (a coordinated leader's etcd) could not be read, restored or written.
    case replication(String)
    /// etcd refused a write: this manager's election key is gone, so another may lead. The write is not in etcd.
    case deposed(electionKey: String)

    public var description: String {
        switch self {
        case .duplicateVirtualCluster(let name):
            "virtual cluster '\(name)' already exists"
        case .duplicateVM(let name):
            "a VM named '\(name)' already exists"
        case .duplicateUUID(let uuid):
            "a VM with UUID \(uuid) already exists"
        case .unknownVirtualCluster(let name):
            "no virtual cluster named '\(name)'"
        case .unknownVM(let id):
            "no VM with ID \(id)"
        case .unknownTask(let id):
            "no task with ID \(id)"
        case .duplicateFlavor(let name):
            "a flavor named '\(name)' already exists"
        case .unknownFlavor(let name):
            "no flavor named '\(name)'"
        case .flavorInUse(let name, let vms):
            "flavor '\(name)' is in use by VMs \(vms.joined(separator: ", "))\(vms.count == 5 ? " and maybe more" : "")"
        case .hostInUse(let host, let vms):
            "\(host) still has VMs: \(vms.joined(separator: ", "))"
        case .duplicateImage(let name):
            "an image named '\(name)' already exists"
        case .duplicateImagePath(let path, let image):
            "\(path) is already in the catalog as image '\(image)'"
        case .unknownImage(let name):
            "no image named '\(name)'"
        case .imageInUse(let name, let vms):
            "image '\(name)' backs the overlays of VMs \(vms.joined(separator: ", "))"
                + "\(vms.count == 5 ? " and maybe more" : ""); remove them first"
        case .database(let path, let message):
            "state database \(path): \(message)"
        case .replication(let message):
            "replicated state: \(message)"
        case .deposed(let key):
            "this manager no longer leads (its election key \(key) is gone); the write was not replicated"
        }
    }
}
