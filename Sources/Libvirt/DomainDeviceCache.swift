import Foundation
import Synchronization

/// The NICs and disks of each running domain, read from its XML once and kept while the domain keeps its id.
///
/// The per-call fallback needs every domain's device names on every sample; fetching and scanning each domain's
/// XML for them was half the agent's CPU at 100 VMs. Devices change only while a domain is down, or with a
/// hotplug that libvirt announces: an entry is dropped when the domain's id changes (it was restarted), when a
/// lifecycle event names the domain (`domainLifecycleEvents` listeners forget it before yielding the event), and
/// when the domain is no longer listed.
final class DomainDeviceCache: Sendable {
    private struct Entry: Sendable {
        /// `virDomainGetID` when read: a restarted domain gets a new one.
        var id: UInt32?
        var devices: DomainXMLDevices
    }

    private let entries = Mutex<[UUID: Entry]>([:])

    /// The cached devices of `uuid` when they were read for the same domain id, else nil.
    func devices(of uuid: UUID, id: UInt32?) -> DomainXMLDevices? {
        entries.withLock { entries in
            guard let entry = entries[uuid], entry.id == id else { return nil }
            return entry.devices
        }
    }

    func store(_ devices: DomainXMLDevices, of uuid: UUID, id: UInt32?) {
        entries.withLock { $0[uuid] = Entry(id: id, devices: devices) }
    }

    /// Drops one domain's entry: the next sample reads its XML again.
    func forget(_ uuid: UUID) {
        _ = entries.withLock { $0.removeValue(forKey: uuid) }
    }

    /// Drops the entries of domains not in `uuids` (undefined, or no longer running), so the cache never outgrows
    /// the host.
    func keepOnly(_ uuids: Set<UUID>) {
        entries.withLock { entries in
            guard entries.keys.contains(where: { !uuids.contains($0) }) else { return }
            entries = entries.filter { uuids.contains($0.key) }
        }
    }

    /// How many domains have an entry (for tests).
    var count: Int { entries.withLock { $0.count } }
}
