import Testing
import Transport
import Wire

@Suite struct HandshakeStateMachineTests {
    let hello = makeHello(node: "agentctl")
    let welcome = Welcome(version: 1, role: .agent, softwareVersion: "1.0", nodeName: "node-1")
    let timeout = Duration.seconds(10)

    func dialler() -> HandshakeStateMachine {
        HandshakeStateMachine(role: .dialler(hello), handshakeTimeout: timeout)
    }

    func listener(_ versions: [UInt8] = [1]) -> HandshakeStateMachine {
        HandshakeStateMachine(role: .listener(supportedVersions: versions), handshakeTimeout: timeout)
    }

    /// A listener that has accepted `hello` and answered it.
    func establishedListener() -> HandshakeStateMachine {
        var machine = listener()
        _ = machine.start()
        _ = machine.received(WireEnvelope(version: 1, message: .hello(hello)))
        _ = machine.welcomeDecided(welcome)
        return machine
    }

    func errorFrame(version: UInt8 = 1, _ code: ErrorMessage.Code, _ message: String) -> WireEnvelope {
        WireEnvelope(version: version, message: .error(ErrorMessage(code: code, message: message)))
    }

    // MARK: Dialler

    @Test func diallerSendsHelloInAVersionOneFrameFirst() {
        var machine = dialler()
        #expect(machine.start() == .send(WireEnvelope(version: WireVersion.v1, message: .hello(hello))))
        #expect(machine.start() == .none)
        #expect(!machine.isEstablished)
    }

    @Test func diallerEstablishesOnWelcome() {
        var machine = dialler()
        _ = machine.start()
        let action = machine.received(WireEnvelope(version: 1, message: .welcome(welcome)))
        #expect(action == .establish(version: 1, peer: .welcome(welcome), sending: nil))
        #expect(machine.negotiatedVersion == 1)
    }

    @Test func diallerRejectsAWelcomeForAVersionItNeverOffered() {
        var machine = dialler()
        _ = machine.start()
        var odd = welcome
        odd.version = 7
        guard
            case .sendErrorAndClose(let envelope, .protocolViolation) = machine.received(
                WireEnvelope(version: 1, message: .welcome(odd))
            )
        else {
            Issue.record("expected an error frame and a close")
            return
        }
        guard case .error(let error) = envelope.message else {
            Issue.record("expected an Error frame, got \(envelope.message.type)")
            return
        }
        #expect(error.code == .noCommonVersion)
        #expect(machine.isClosed)
    }

    @Test func diallerSurfacesAnErrorFrameAsPeerError() {
        var machine = dialler()
        _ = machine.start()
        let action = machine.received(errorFrame(.noCommonVersion, "no common protocol version"))
        #expect(action == .close(reason: .peerError(code: .noCommonVersion, message: "no common protocol version")))
        #expect(machine.received(WireEnvelope(version: 1, message: .welcome(welcome))) == .none)
    }

    @Test func diallerRejectsAnythingButWelcomeOrError() {
        var machine = dialler()
        _ = machine.start()
        let heartbeat = WireEnvelope(version: 1, message: .heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 0)))
        let text = "unexpected Heartbeat in state awaitingWelcome"
        #expect(
            machine.received(heartbeat)
                == .sendErrorAndClose(errorFrame(.unexpectedMessage, text), reason: .protocolViolation(text))
        )
    }

    // MARK: Listener

    @Test func listenerAsksTheApplicationThenSendsWelcomeInAVersionOneFrame() {
        var machine = listener()
        #expect(machine.start() == .none)
        #expect(
            machine.received(WireEnvelope(version: 1, message: .hello(hello)))
                == .decideWelcome(hello, negotiatedVersion: 1)
        )
        var decided = welcome
        decided.version = 99  // replaced by the negotiated version
        let action = machine.welcomeDecided(decided)
        #expect(
            action
                == .establish(
                    version: 1,
                    peer: .hello(hello),
                    sending: WireEnvelope(version: WireVersion.v1, message: .welcome(welcome))
                )
        )
        #expect(machine.negotiatedVersion == 1)
    }

    @Test func listenerPicksTheHighestCommonVersion() {
        var machine = listener([1, 2, 3])
        _ = machine.start()
        let offer = makeHello(versions: [2, 3, 4])
        #expect(
            machine.received(WireEnvelope(version: 1, message: .hello(offer)))
                == .decideWelcome(offer, negotiatedVersion: 3)
        )
    }

    @Test func listenerRefusesWhenNoVersionIsShared() {
        var machine = listener([1])
        _ = machine.start()
        let text = "no common protocol version: this side speaks [1], the peer speaks [9]"
        #expect(
            machine.received(WireEnvelope(version: 1, message: .hello(makeHello(versions: [9]))))
                == .sendErrorAndClose(
                    errorFrame(.noCommonVersion, text),
                    reason: .refused(code: .noCommonVersion, message: text)
                )
        )
        #expect(machine.isClosed)
    }

    @Test func listenerRejectsANonHelloFirstFrame() {
        var machine = listener()
        _ = machine.start()
        let text = "unexpected StatusRequest in state awaitingHello"
        #expect(
            machine.received(WireEnvelope(version: 1, message: .statusRequest(StatusRequest())))
                == .sendErrorAndClose(errorFrame(.unexpectedMessage, text), reason: .protocolViolation(text))
        )
    }

    @Test func listenerRejectsFramesBeforeItsWelcome() {
        var machine = listener()
        _ = machine.start()
        _ = machine.received(WireEnvelope(version: 1, message: .hello(hello)))
        let text = "unexpected StatusRequest in state decidingWelcome"
        #expect(
            machine.received(WireEnvelope(version: 1, message: .statusRequest(StatusRequest())))
                == .sendErrorAndClose(errorFrame(.unexpectedMessage, text), reason: .protocolViolation(text))
        )
        #expect(machine.welcomeDecided(welcome) == .none)
    }

    @Test func listenerSendsTheApplicationsRefusal() {
        var machine = listener()
        _ = machine.start()
        _ = machine.received(WireEnvelope(version: 1, message: .hello(hello)))
        #expect(
            machine.welcomeRefused(ErrorMessage(code: .unsupported, message: "agents only"))
                == .sendErrorAndClose(
                    errorFrame(.unsupported, "agents only"),
                    reason: .refused(code: .unsupported, message: "agents only")
                )
        )
    }

    // MARK: Established

    @Test func establishedDeliversFramesOfTheNegotiatedVersion() {
        var machine = establishedListener()
        let push = WireEnvelope(version: 1, message: .heartbeat(Heartbeat(sequence: 3, timestampMilliseconds: 5)))
        let response = WireEnvelope(
            version: 1,
            flags: .response,
            requestID: 4,
            message: .error(ErrorMessage(code: .unsupported, message: "no"))
        )
        #expect(machine.received(push) == .deliver(push))
        #expect(machine.received(response) == .deliver(response))
    }

    @Test func establishedRejectsAFrameOfAnotherVersion() {
        var machine = establishedListener()
        let text = "frame version 2 differs from the negotiated version 1"
        let stray = WireEnvelope(version: 2, message: .statusRequest(StatusRequest()))
        #expect(
            machine.received(stray)
                == .sendErrorAndClose(errorFrame(.malformedFrame, text), reason: .protocolViolation(text))
        )
        #expect(machine.received(WireEnvelope(version: 1, message: .statusRequest(StatusRequest()))) == .none)
    }

    @Test func establishedRejectsASecondHello() {
        var machine = establishedListener()
        let text = "unexpected Hello in state established"
        #expect(
            machine.received(WireEnvelope(version: 1, message: .hello(hello)))
                == .sendErrorAndClose(errorFrame(.unexpectedMessage, text), reason: .protocolViolation(text))
        )
    }

    @Test func establishedClosesOnAnUnsolicitedError() {
        var machine = establishedListener()
        #expect(
            machine.received(errorFrame(.internalError, "shutting down"))
                == .close(reason: .peerError(code: .internalError, message: "shutting down"))
        )
    }

    // MARK: Any state

    @Test func decodeFailureSendsMalformedFrameAndCloses() {
        var machine = establishedListener()
        let error = WireError.badMagic(0xFFFF)
        #expect(
            machine.decodeFailed(error)
                == .sendErrorAndClose(
                    errorFrame(.malformedFrame, error.description),
                    reason: .protocolViolation(error.description)
                )
        )
        #expect(machine.decodeFailed(error) == .none)
    }

    @Test func handshakeTimerClosesOnlyBeforeEstablishment() {
        var waiting = listener()
        _ = waiting.start()
        #expect(waiting.handshakeTimerFired() == .close(reason: .handshakeTimedOut(after: timeout)))

        var established = establishedListener()
        #expect(established.handshakeTimerFired() == .none)
        #expect(established.isEstablished)
    }

    @Test func nothingHappensAfterClose() {
        var machine = establishedListener()
        machine.closed()
        #expect(machine.received(WireEnvelope(version: 1, message: .statusRequest(StatusRequest()))) == .none)
        #expect(machine.handshakeTimerFired() == .none)
        #expect(machine.negotiatedVersion == nil)
    }
}
