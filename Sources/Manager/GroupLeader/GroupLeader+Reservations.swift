import Foundation
import Logging
import Wire

/// Reservations (docs/reservations.md): `ReservationMachine` decides, this carries its actions out — the store
/// keeps each reservation, a destroy task stops a cluster's VMs at its end.
extension GroupLeader {
    /// Loads the stored reservations once, before any is read or changed.
    func loadReservations() async throws(ClusterRequestError) {
        guard !reservationsLoaded else { return }
        let stored: [StoredReservation]
        do {
            stored = try await store.reservations()
        } catch {
            throw ClusterRequestError(error)
        }
        guard !reservationsLoaded else { return }
        reservationMachine = ReservationMachine(limits: configuration.reservations.limits, stored: stored)
        reservationsLoaded = true
    }

    func reserve(cluster: String, untilUnixMilliseconds until: UInt64) async throws(ClusterRequestError) -> ClusterReply {
        try await changeReservation(of: cluster) { machine, now throws(ReservationMachine.Refusal) in
            try machine.reserve(cluster: cluster, until: Date(unixMilliseconds: until), now: now)
        }
    }

    func renewReservation(
        cluster: String,
        untilUnixMilliseconds until: UInt64
    ) async throws(ClusterRequestError) -> ClusterReply {
        try await changeReservation(of: cluster) { machine, now throws(ReservationMachine.Refusal) in
            try machine.renew(cluster: cluster, until: Date(unixMilliseconds: until), now: now)
        }
    }

    func releaseReservation(cluster: String) async throws(ClusterRequestError) -> ClusterReply {
        try await changeReservation(of: cluster) { machine, now throws(ReservationMachine.Refusal) in
            try machine.release(cluster: cluster, now: now)
        }
    }

    /// Why the cluster's VMs may not start now (its reservation ended); nil when they may.
    func reservationStartRefusal(cluster: String) async throws(ClusterRequestError) -> String? {
        try await loadReservations()
        return reservationMachine.startRefusal(cluster: cluster, now: wallClock())
    }

    /// Follows the stops under way, then ends the reservations whose end has come (ReservationService, every
    /// `reservations.check_interval`; and at once after a restart, for those that ended meanwhile).
    public func checkReservations() async {
        do {
            try await loadReservations()
            let existing = Set(try await store.virtualClusters().map(\.name))
            reservationMachine.keep(onlyClusters: existing)
            for (cluster, taskID) in reservationMachine.runningStops {
                let task = try await store.task(id: taskID)
                guard let task else {
                    await perform(
                        reservationMachine.stopFailed(cluster: cluster, reason: "task \(taskID) is gone", now: wallClock())
                    )
                    continue
                }
                guard task.state == .succeeded || task.state == .failed else { continue }
                await perform(
                    reservationMachine.stopTaskEnded(
                        cluster: cluster,
                        taskID: taskID,
                        succeeded: task.state == .succeeded,
                        reason: task.detail,
                        now: wallClock()
                    )
                )
            }
        } catch {
            logger.error("cannot check reservations", metadata: [.error: "\(error)"])
            return
        }
        await perform(reservationMachine.tick(now: wallClock()))
    }

    // MARK: Helpers

    private func changeReservation(
        of cluster: String,
        _ change: (inout ReservationMachine, Date) throws(ReservationMachine.Refusal) -> [ReservationMachine.Action]
    ) async throws(ClusterRequestError) -> ClusterReply {
        try await loadReservations()
        do {
            guard try await store.virtualClusters().contains(where: { $0.name == cluster }) else {
                throw ClusterRequestError.notFound("no virtual cluster named '\(cluster)'")
            }
        } catch {
            throw ClusterRequestError(error)
        }
        let actions: [ReservationMachine.Action]
        do {
            actions = try change(&reservationMachine, wallClock())
        } catch {
            switch error {
            case .notFound(let message): throw .notFound(message)
            case .conflict(let message), .expired(let message): throw .conflict(message)
            case .invalid(let message): throw .invalid(message)
            }
        }
        await perform(actions)
        return try await clusterReply(only: cluster)
    }

    private func perform(_ actions: [ReservationMachine.Action]) async {
        for action in actions {
            switch action {
            case .save(let cluster):
                guard let reservation = reservationMachine.reservations[cluster] else { continue }
                do {
                    try await store.saveReservation(StoredReservation(reservation))
                } catch {
                    logger.error("cannot save a reservation", metadata: [.vc: "\(cluster)", .error: "\(error)"])
                }
            case .stopVMs(let cluster):
                logger.notice("reservation ended: stopping its VMs", metadata: [.vc: "\(cluster)"])
                do throws(ClusterRequestError) {
                    let task = try await submit("destroy", cluster: cluster, vm: "")
                    await perform(reservationMachine.stopSubmitted(cluster: cluster, taskID: task.id))
                } catch {
                    logger.warning(
                        "cannot stop the VMs of an ended reservation yet",
                        metadata: [.vc: "\(cluster)", .error: "\(error)"]
                    )
                    await perform(
                        reservationMachine.stopFailed(cluster: cluster, reason: "\(error)", now: wallClock())
                    )
                }
            }
        }
    }

    /// The wire form of the cluster's reservation, nil when it has none.
    func wireReservation(of cluster: String) -> ClusterReply.Reservation? {
        guard let reservation = reservationMachine.reservations[cluster] else { return nil }
        var stoppedAt: Date?
        if case .stopped(let at) = reservation.phase { stoppedAt = at }
        return ClusterReply.Reservation(
            untilUnixMilliseconds: reservation.until.unixMilliseconds,
            expired: reservation.hasEnded || reservation.until <= wallClock(),
            stoppedAtUnixMilliseconds: stoppedAt?.unixMilliseconds ?? 0
        )
    }
}

extension Date {
    init(unixMilliseconds: UInt64) {
        self.init(timeIntervalSince1970: TimeInterval(unixMilliseconds) / 1000)
    }
}
