import Testing
import Transport

/// The server's admission rules, event by event, with no sockets.
@Suite struct ConnectionGateTests {
    @Test(arguments: [
        // (max_connections, descriptor limit, reserve) -> (served at once, sockets open at once)
        (16_384, 65_536, 128, 16_384, 65_408),
        (16_384, 1_024, 128, 832, 896),
        (16_384, 256, 128, 112, 128),
        (10, 1_024, 128, 10, 896),
        (1_024, nil, 128, 1_024, Int.max),
        (100, 100, 128, 1, 1),
    ] as [(Int, Int?, Int, Int, Int)])
    func limitsKeepTheDescriptorReserve(
        maximumConnections: Int,
        descriptorLimit: Int?,
        reserve: Int,
        served: Int,
        open: Int
    ) {
        let gate = ConnectionGate(
            limits: WireServerLimits(maximumConnections: maximumConnections, reservedDescriptors: reserve),
            descriptorLimit: descriptorLimit
        )
        #expect(gate.maximumServed == served)
        #expect(gate.maximumOpen == open)
    }

    enum Event {
        case acceptWanted(ConnectionGate.AcceptDecision)
        case accepted
        case admit(ConnectionGate.Admission)
        case socketClosed(wasServed: Bool, resume: Bool)
    }

    /// Descriptors for three sockets, two served: the third is refused, and at three open sockets the gate holds
    /// accepting until one closes.
    @Test func refusesThenPausesThenResumes() {
        var gate = ConnectionGate(
            limits: WireServerLimits(maximumConnections: 2, reservedDescriptors: 16),
            descriptorLimit: 19
        )
        #expect(gate.maximumOpen == 3 && gate.maximumServed == 2)
        let events: [Event] = [
            .acceptWanted(.accept), .accepted, .admit(.admit(refusedBefore: 0)),
            .acceptWanted(.accept), .accepted, .admit(.admit(refusedBefore: 0)),
            .acceptWanted(.accept), .accepted, .admit(.refuse(startsRun: true)),
            .acceptWanted(.hold(startsPause: true)),
            .acceptWanted(.hold(startsPause: false)),
            // The refused socket closes: accepting resumes.
            .socketClosed(wasServed: false, resume: true),
            .acceptWanted(.accept), .accepted, .admit(.refuse(startsRun: false)),
            .acceptWanted(.hold(startsPause: true)),
            // A served connection closes: its socket frees a place, and the next one is admitted.
            .socketClosed(wasServed: true, resume: true),
            .acceptWanted(.accept), .accepted, .admit(.admit(refusedBefore: 2)),
            .acceptWanted(.hold(startsPause: true)),
            .socketClosed(wasServed: false, resume: true),
            .acceptWanted(.accept),
            // Closing without a pause resumes nothing.
            .socketClosed(wasServed: true, resume: false),
        ]
        for (index, event) in events.enumerated() {
            switch event {
            case .acceptWanted(let expected):
                #expect(gate.acceptWanted() == expected, "event \(index)")
            case .accepted:
                gate.socketAccepted()
            case .admit(let expected):
                #expect(gate.admit() == expected, "event \(index)")
            case .socketClosed(let wasServed, let resume):
                #expect(gate.socketClosed(wasServed: wasServed) == resume, "event \(index)")
            }
        }
        #expect(gate.open == 1 && gate.served == 1)
    }
}
