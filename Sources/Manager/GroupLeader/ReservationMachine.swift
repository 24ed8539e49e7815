import Foundation

/// Decides what reservations allow and when they end (docs/reservations.md). No I/O and no clock of its own: the
/// group leader passes the time in, carries out the actions, and reports how the tasks it submitted ended.
///
/// A reservation holds capacity for a virtual cluster until its end. At the end the cluster's VMs are stopped and
/// removed from their hosts (a destroy task, so the capacity is free and the energy saver may sleep the hosts),
/// retried until it succeeds; until the cluster is reserved again, its VMs are not started.
struct ReservationMachine: Sendable {
    struct Limits: Sendable, Equatable {
        /// The furthest end a reserve or renew may ask for, from now.
        var maximumDuration: Duration
        /// How long after a failed or refused stop it is tried again.
        var retryInterval: Duration
    }

    enum Phase: Equatable, Sendable {
        case active
        /// Past its end: the stop task is being submitted (nil) or runs.
        case stopping(taskID: String?)
        /// The stop failed or was refused; tried again at `at`.
        case retrying(at: Date, reason: String)
        /// Its VMs were all stopped at `at`.
        case stopped(at: Date)
    }

    struct Reservation: Equatable, Sendable {
        var cluster: String
        var until: Date
        var createdAt: Date
        var phase: Phase

        var hasEnded: Bool { phase != .active }
    }

    enum Action: Equatable, Sendable {
        /// Write the cluster's reservation as it is now.
        case save(cluster: String)
        /// Submit a task stopping every VM of the cluster, then report `stopSubmitted` or `stopFailed`.
        case stopVMs(cluster: String)
    }

    /// Why a request was refused; nothing changed.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        case notFound(String)
        case conflict(String)
        case invalid(String)
        /// The reservation has ended: renewing it is too late.
        case expired(String)

        var description: String {
            switch self {
            case .notFound(let message), .conflict(let message), .invalid(let message), .expired(let message): message
            }
        }
    }

    let limits: Limits
    private(set) var reservations: [String: Reservation] = [:]

    init(limits: Limits, stored: [StoredReservation] = []) {
        self.limits = limits
        for row in stored {
            let phase: Phase
            if let stoppedAt = row.stoppedAt {
                phase = .stopped(at: stoppedAt)
            } else if let task = row.stopTaskID {
                phase = .stopping(taskID: task)
            } else {
                // Possibly past its end already (the manager was stopped at it): the next tick stops it.
                phase = .active
            }
            reservations[row.vcName] = Reservation(
                cluster: row.vcName,
                until: row.until,
                createdAt: row.createdAt,
                phase: phase
            )
        }
    }

    // MARK: Requests

    /// A new reservation, or a fresh one for a cluster whose last one ended.
    mutating func reserve(cluster: String, until: Date, now: Date) throws(Refusal) -> [Action] {
        if let existing = reservations[cluster] {
            switch existing.phase {
            case .active:
                throw .conflict(
                    "virtual cluster '\(cluster)' is already reserved until \(Self.format(existing.until)): renew it"
                )
            case .stopping, .retrying:
                throw .conflict(
                    "the reservation of '\(cluster)' ended at \(Self.format(existing.until)) and its VMs are being "
                        + "stopped: reserve it again once they are"
                )
            case .stopped:
                break
            }
        }
        try checkEnd(until, now: now)
        reservations[cluster] = Reservation(cluster: cluster, until: until, createdAt: now, phase: .active)
        return [.save(cluster: cluster)]
    }

    /// Moves the end of an unexpired reservation, earlier or later.
    mutating func renew(cluster: String, until: Date, now: Date) throws(Refusal) -> [Action] {
        guard var reservation = reservations[cluster] else {
            throw .notFound("virtual cluster '\(cluster)' has no reservation")
        }
        guard !reservation.hasEnded, reservation.until > now else {
            throw .expired(
                "the reservation of '\(cluster)' ended at \(Self.format(reservation.until)): reserve it again"
            )
        }
        try checkEnd(until, now: now)
        reservation.until = until
        reservations[cluster] = reservation
        return [.save(cluster: cluster)]
    }

    /// Ends an unexpired reservation now: its VMs are stopped as at its end.
    mutating func release(cluster: String, now: Date) throws(Refusal) -> [Action] {
        guard var reservation = reservations[cluster] else {
            throw .notFound("virtual cluster '\(cluster)' has no reservation")
        }
        guard !reservation.hasEnded else {
            throw .expired("the reservation of '\(cluster)' already ended at \(Self.format(reservation.until))")
        }
        reservation.until = min(reservation.until, now)
        reservations[cluster] = reservation
        return [.save(cluster: cluster)] + tick(now: now)
    }

    /// Why VMs of `cluster` may not start now; nil when they may (no reservation, or an unexpired one).
    func startRefusal(cluster: String, now: Date) -> String? {
        guard let reservation = reservations[cluster], reservation.hasEnded || reservation.until <= now else {
            return nil
        }
        return "the reservation of virtual cluster '\(cluster)' ended at \(Self.format(reservation.until)): "
            + "reserve it again (torpor vc reserve \(cluster) --until TIME) before starting its VMs"
    }

    // MARK: Time and outcomes

    /// Ends the reservations whose end has come, and retries the stops whose retry time has.
    mutating func tick(now: Date) -> [Action] {
        var actions: [Action] = []
        for cluster in reservations.keys.sorted() {
            guard var reservation = reservations[cluster] else { continue }
            switch reservation.phase {
            case .active where reservation.until <= now:
                reservation.phase = .stopping(taskID: nil)
                actions.append(.stopVMs(cluster: cluster))
            case .retrying(let at, _) where at <= now:
                reservation.phase = .stopping(taskID: nil)
                actions.append(.stopVMs(cluster: cluster))
            default:
                continue
            }
            reservations[cluster] = reservation
        }
        return actions
    }

    mutating func stopSubmitted(cluster: String, taskID: String) -> [Action] {
        guard var reservation = reservations[cluster], reservation.phase == .stopping(taskID: nil) else { return [] }
        reservation.phase = .stopping(taskID: taskID)
        reservations[cluster] = reservation
        return [.save(cluster: cluster)]
    }

    /// The stop could not be submitted (the cluster is migrating, the store failed): tried again later.
    mutating func stopFailed(cluster: String, reason: String, now: Date) -> [Action] {
        guard var reservation = reservations[cluster], case .stopping = reservation.phase else { return [] }
        reservation.phase = .retrying(at: now + limits.retryInterval.timeInterval, reason: reason)
        reservations[cluster] = reservation
        return []
    }

    /// The stop task ended; a failed one (a host unreachable) is submitted again after the retry interval.
    mutating func stopTaskEnded(
        cluster: String,
        taskID: String,
        succeeded: Bool,
        reason: String,
        now: Date
    ) -> [Action] {
        guard var reservation = reservations[cluster], reservation.phase == .stopping(taskID: taskID) else {
            return []
        }
        guard succeeded else { return stopFailed(cluster: cluster, reason: reason, now: now) }
        reservation.phase = .stopped(at: now)
        reservations[cluster] = reservation
        return [.save(cluster: cluster)]
    }

    /// The stop tasks under way, to be followed until they end.
    var runningStops: [(cluster: String, taskID: String)] {
        reservations.values.sorted { $0.cluster < $1.cluster }.compactMap { reservation in
            guard case .stopping(let task?) = reservation.phase else { return nil }
            return (reservation.cluster, task)
        }
    }

    /// Drops the reservations of clusters that no longer exist (undefined, with their rows).
    mutating func keep(onlyClusters existing: Set<String>) {
        reservations = reservations.filter { existing.contains($0.key) }
    }

    // MARK: Helpers

    private func checkEnd(_ until: Date, now: Date) throws(Refusal) {
        guard until > now else {
            throw .invalid("the end \(Self.format(until)) is not in the future (now \(Self.format(now)))")
        }
        let latest = now + limits.maximumDuration.timeInterval
        guard until <= latest else {
            throw .invalid(
                "the end \(Self.format(until)) is past the maximum reservation of "
                    + "\(Self.describe(limits.maximumDuration)) (at the latest \(Self.format(latest)))"
            )
        }
    }

    /// RFC 3339 in UTC, to the second.
    static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds % 86_400 == 0 { return "\(seconds / 86_400) d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600) h" }
        if seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }
}

extension StoredReservation {
    init(_ reservation: ReservationMachine.Reservation) {
        var stopTaskID: String?
        var stoppedAt: Date?
        switch reservation.phase {
        case .active, .retrying: break
        case .stopping(let task): stopTaskID = task
        case .stopped(let at): stoppedAt = at
        }
        self.init(
            vcName: reservation.cluster,
            until: reservation.until,
            createdAt: reservation.createdAt,
            stopTaskID: stopTaskID,
            stoppedAt: stoppedAt
        )
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        self / .seconds(1)
    }
}
