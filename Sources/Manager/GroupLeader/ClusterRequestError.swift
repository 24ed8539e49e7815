import Wire

/// Why the group leader refused a request. Nothing was changed; the message names what is wrong.
enum ClusterRequestError: Error, CustomStringConvertible {
    case notFound(String)
    case conflict(String)
    case invalid(String)
    case failed(String)

    init(_ error: ManagerStoreError) {
        switch error {
        case .duplicateVirtualCluster, .duplicateVM, .duplicateUUID, .duplicateFlavor, .duplicateImage,
            .duplicateImagePath, .flavorInUse, .imageInUse, .hostInUse:
            self = .conflict(error.description)
        case .unknownVirtualCluster, .unknownVM, .unknownTask, .unknownFlavor, .unknownImage:
            self = .notFound(error.description)
        case .database, .replication, .deposed: self = .failed(error.description)
        }
    }

    /// Any error of a request's store work, as the request's error: our own as is, the store's by kind.
    init(_ error: any Error) {
        switch error {
        case let error as ClusterRequestError: self = error
        case let error as ManagerStoreError: self.init(error)
        default: self = .failed("\(error)")
        }
    }

    var description: String {
        switch self {
        case .notFound(let message), .conflict(let message), .invalid(let message), .failed(let message): message
        }
    }

    var result: CommandResult {
        switch self {
        case .notFound(let message): CommandResult(code: .notFound, message: message)
        case .conflict(let message): CommandResult(code: .conflict, message: message)
        case .invalid(let message): CommandResult(code: .invalidArgument, message: message)
        case .failed(let message): CommandResult(code: .internalError, message: message)
        }
    }
}
