/// A failure talking AMQP 0-9-1 to a broker, with the step it happened at and rabbitmq-c's or the broker's words.
public struct AMQPError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Step: String, Sendable {
        case connect, login, channel
        case confirmSelect = "confirm select"
        case declare, publish, confirm
    }

    public var step: Step
    public var message: String
    /// The broker's reply code when it closed the channel or connection (403 ACCESS_REFUSED for bad credentials…).
    public var replyCode: UInt16?

    public init(step: Step, message: String, replyCode: UInt16? = nil) {
        self.step = step
        self.message = message
        self.replyCode = replyCode
    }

    public var description: String {
        "AMQP \(step.rawValue): \(message)" + (replyCode.map { " (reply code \($0))" } ?? "")
    }
}
