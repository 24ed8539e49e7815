import NIOCore

/// The torpor CLI asks the manager how much energy its hosts used and would have used had they never slept.
/// Answered by EnergyReply. No fields in version 1.
public struct EnergyRequest: WirePayload {
    public static let messageType = WireMessageType.energyRequest

    public init() {}

    public func encode(into buffer: inout ByteBuffer) {}

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> EnergyRequest {
        EnergyRequest()
    }
}
