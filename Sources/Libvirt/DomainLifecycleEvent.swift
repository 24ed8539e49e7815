import CLibvirt
import Foundation

/// One `VIR_DOMAIN_EVENT_ID_LIFECYCLE` event.
public struct DomainLifecycleEvent: Sendable, Equatable {
    /// libvirt's `virDomainEventType`.
    public enum Kind: Sendable, Hashable {
        case defined
        case undefined
        case started
        case suspended
        case resumed
        case stopped
        case shutdown
        case pmSuspended
        case crashed
        /// A kind newer than this list, with libvirt's number.
        case unknown(Int32)

        init(libvirtValue: Int32) {
            switch UInt32(bitPattern: libvirtValue) {
            case VIR_DOMAIN_EVENT_DEFINED.rawValue: self = .defined
            case VIR_DOMAIN_EVENT_UNDEFINED.rawValue: self = .undefined
            case VIR_DOMAIN_EVENT_STARTED.rawValue: self = .started
            case VIR_DOMAIN_EVENT_SUSPENDED.rawValue: self = .suspended
            case VIR_DOMAIN_EVENT_RESUMED.rawValue: self = .resumed
            case VIR_DOMAIN_EVENT_STOPPED.rawValue: self = .stopped
            case VIR_DOMAIN_EVENT_SHUTDOWN.rawValue: self = .shutdown
            case VIR_DOMAIN_EVENT_PMSUSPENDED.rawValue: self = .pmSuspended
            case VIR_DOMAIN_EVENT_CRASHED.rawValue: self = .crashed
            default: self = .unknown(libvirtValue)
            }
        }
    }

    public let uuid: UUID
    public let name: String
    public let kind: Kind
    /// The raw `virDomainEvent<Kind>DetailType` value (e.g. `VIR_DOMAIN_EVENT_STOPPED_DESTROYED`); its meaning
    /// depends on `kind`.
    public let detail: Int32

    public init(uuid: UUID, name: String, kind: Kind, detail: Int32) {
        self.uuid = uuid
        self.name = name
        self.kind = kind
        self.detail = detail
    }
}
